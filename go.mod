module invited

go 1.26.8

require (
	github.com/alexedwards/argon2id v1.0.0 // indirect
	github.com/ccojocar/zxcvbn-go v1.0.4 // indirect
	github.com/julienschmidt/httprouter v1.3.0 // indirect
	github.com/pelletier/go-toml/v2 v2.4.3 // indirect
	go.etcd.io/bbolt v1.5.0 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/time v0.16.0 // indirect
)
