package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"invited/db"
)

// writeConfigFile writes content to a fresh config.toml and returns its path.
func writeConfigFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// mustLoadConfig loads and fails the test on error.
func mustLoadConfig(t *testing.T, path string, environ []string) (Config, []string) {
	t.Helper()
	cfg, warnings, err := LoadConfig(path, environ)
	if err != nil {
		t.Fatalf("LoadConfig(%q, %q): %v", path, environ, err)
	}
	return cfg, warnings
}

// wantErrorContaining fails unless err is non-nil and holds every part.
func wantErrorContaining(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	def := DefaultConfig()
	if err := def.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate(): %v", err)
	}
	cfg, warnings := mustLoadConfig(t, "", []string{"HOME=/root", "PATH=/bin"})
	if len(warnings) != 0 {
		t.Errorf("warnings = %q, want none", warnings)
	}
	if !reflect.DeepEqual(cfg, def) {
		t.Errorf("LoadConfig with nothing set = %+v, want DefaultConfig() %+v", cfg, def)
	}

	tests := []struct {
		name      string
		got, want any
	}{
		{"server.listen", cfg.Server.Listen, "127.0.0.1:4242"},
		{"server.base_url", cfg.Server.BaseURL, "http://localhost:4242"},
		{"server.trusted_proxies", len(cfg.Server.TrustedProxies), 0},
		{"storage.data_dir", cfg.Storage.DataDir, "./data"},
		{"auth.init_admin_api_tokens", len(cfg.Auth.InitAdminAPITokens), 0},
		{"auth.argon2_memory_kib", cfg.Auth.Argon2MemoryKiB, uint32(19456)},
		{"auth.argon2_iterations", cfg.Auth.Argon2Iterations, uint32(2)},
		{"auth.argon2_parallelism", cfg.Auth.Argon2Parallelism, uint8(1)},
		{"auth.max_concurrent_hashes", cfg.Auth.MaxConcurrentHashes, runtime.NumCPU()},
		{"auth.min_password_length", cfg.Auth.MinPasswordLength, 8},
		{"auth.min_password_score", cfg.Auth.MinPasswordScore, 2},
		{"auth.max_login_attempts", cfg.Auth.MaxLoginAttempts, 10},
		{"auth.lockout_max", cfg.Auth.LockoutMax.Duration, 15 * time.Minute},
		{"auth.session_ttl", cfg.Auth.SessionTTL.Duration, 168 * time.Hour},
		{"auth.cookie_domain", cfg.Auth.CookieDomain, ""},
		{"auth.verify_email", cfg.Auth.VerifyEmail, "domains"},
		{"invitations.default_ttl", cfg.Invitations.DefaultTTL.Duration, 168 * time.Hour},
		{"mail.driver", cfg.Mail.Driver, "log"},
		{"mail.port", cfg.Mail.Port, 587},
		{"mail.tls", cfg.Mail.TLS, "starttls"},
		{"limits.auth_per_minute", cfg.Limits.AuthPerMinute, 10},
		{"limits.public_per_minute", cfg.Limits.PublicPerMinute, 60},
		{"retention.events", cfg.Retention.Events.Duration, 8760 * time.Hour},
		{"retention.emails", cfg.Retention.Emails.Duration, 720 * time.Hour},
		{"site.name", cfg.Site.Name, "invited"},
		{"log.format", cfg.Log.Format, "text"},
		{"log.level", cfg.Log.Level, "info"},
		{"DatabasePath", cfg.DatabasePath(), filepath.Join("data", "invited.db")},
		{"SocketPath", cfg.SocketPath(), filepath.Join("data", "admin.sock")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

func TestConfigFileOverrides(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		check func(t *testing.T, c Config)
	}{
		{
			name: "server section",
			file: "[server]\nlisten = \"0.0.0.0:8080\"\nbase_url = \"https://invite.example.com/\"\ntrusted_proxies = [\"10.0.0.1\", \"192.168.0.0/16\"]\n",
			check: func(t *testing.T, c Config) {
				if c.Server.Listen != "0.0.0.0:8080" {
					t.Errorf("listen = %q", c.Server.Listen)
				}
				if c.Server.BaseURL != "https://invite.example.com" {
					t.Errorf("base_url = %q, want the trailing slash stripped", c.Server.BaseURL)
				}
				if want := []string{"10.0.0.1", "192.168.0.0/16"}; !reflect.DeepEqual(c.Server.TrustedProxies, want) {
					t.Errorf("trusted_proxies = %q, want %q", c.Server.TrustedProxies, want)
				}
			},
		},
		{
			name: "storage and derived paths",
			file: "[storage]\ndata_dir = \"/var/lib/invited\"\n",
			check: func(t *testing.T, c Config) {
				if got := c.DatabasePath(); got != filepath.Join("/var/lib/invited", "invited.db") {
					t.Errorf("DatabasePath = %q", got)
				}
				if got := c.SocketPath(); got != filepath.Join("/var/lib/invited", "admin.sock") {
					t.Errorf("SocketPath = %q", got)
				}
			},
		},
		{
			name: "auth numbers and durations",
			file: "[auth]\ninit_admin_api_tokens = [\"k1\"]\nargon2_memory_kib = 65536\nargon2_iterations = 3\nargon2_parallelism = 4\nmax_concurrent_hashes = 2\nmin_password_length = 12\nmin_password_score = 0\nmax_login_attempts = 5\nsession_ttl = \"12h30m\"\n",
			check: func(t *testing.T, c Config) {
				want := DefaultConfig().Auth
				want.InitAdminAPITokens = []string{"k1"}
				want.Argon2MemoryKiB, want.Argon2Iterations, want.Argon2Parallelism = 65536, 3, 4
				want.MaxConcurrentHashes, want.MinPasswordLength, want.MinPasswordScore, want.MaxLoginAttempts = 2, 12, 0, 5
				want.SessionTTL = Duration{12*time.Hour + 30*time.Minute}
				if !reflect.DeepEqual(c.Auth, want) {
					t.Errorf("auth = %+v, want %+v", c.Auth, want)
				}
			},
		},
		{
			name: "smtp mail",
			file: "[mail]\ndriver = \"smtp\"\nhost = \"smtp.example.com\"\nport = 465\nusername = \"u\"\npassword = \"p\"\nfrom = \"Invited <invited@example.com>\"\ntls = \"tls\"\nwelcome = false\nnotify_inviter = false\nretry_delay = \"1m\"\nmax_attempts = 3\n",
			check: func(t *testing.T, c Config) {
				want := MailConfig{Driver: "smtp", Host: "smtp.example.com", Port: 465, Username: "u", Password: "p", From: "Invited <invited@example.com>", TLS: "tls",
					RetryDelay: Duration{time.Minute}, MaxAttempts: 3}
				if c.Mail != want {
					t.Errorf("mail = %+v, want %+v", c.Mail, want)
				}
			},
		},
		{
			name: "webhooks",
			file: "[webhooks]\nallow_private = true\nretry_delay = \"250ms\"\nmax_attempts = 4\n",
			check: func(t *testing.T, c Config) {
				if want := (WebhooksConfig{AllowPrivate: true, RetryDelay: Duration{250 * time.Millisecond}, MaxAttempts: 4}); c.Webhooks != want {
					t.Errorf("webhooks = %+v, want %+v", c.Webhooks, want)
				}
			},
		},
		{
			name: "other sections, dotted keys and inline tables",
			file: "invitations.default_ttl = \"48h\"\nlimits = { auth_per_minute = 0, public_per_minute = 5 }\n[site]\nname = \"Acme access\"\n[log]\nformat = \"json\"\nlevel = \"debug\"\n",
			check: func(t *testing.T, c Config) {
				if c.Invitations.DefaultTTL.Duration != 48*time.Hour {
					t.Errorf("default_ttl = %v", c.Invitations.DefaultTTL)
				}
				if c.Limits != (LimitsConfig{AuthPerMinute: 0, PublicPerMinute: 5}) {
					t.Errorf("limits = %+v", c.Limits)
				}
				if c.Site.Name != "Acme access" || c.Log != (LogConfig{Format: "json", Level: "debug"}) {
					t.Errorf("site = %+v, log = %+v", c.Site, c.Log)
				}
			},
		},
		{
			name: "keys not in the file keep their defaults",
			file: "[server]\nlisten = \":9000\"\n",
			check: func(t *testing.T, c Config) {
				want := DefaultConfig()
				want.Server.Listen = ":9000"
				if !reflect.DeepEqual(c, want) {
					t.Errorf("got %+v, want %+v", c, want)
				}
			},
		},
		{
			name: "empty file",
			file: "",
			check: func(t *testing.T, c Config) {
				if !reflect.DeepEqual(c, DefaultConfig()) {
					t.Errorf("got %+v, want the defaults", c)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := mustLoadConfig(t, writeConfigFile(t, tt.file), nil)
			tt.check(t, cfg)
		})
	}
}

func TestConfigEnvWinsOverFile(t *testing.T) {
	path := writeConfigFile(t, `
[server]
listen = "127.0.0.1:1111"
trusted_proxies = ["10.0.0.1"]
[auth]
argon2_memory_kib = 32768
argon2_parallelism = 2
session_ttl = "1h"
[mail]
port = 25
[limits]
auth_per_minute = 3
[site]
name = "from file"
`)
	environ := []string{
		"INVITED_SERVER_LISTEN=127.0.0.1:2222",
		"INVITED_SERVER_TRUSTED_PROXIES=",
		"INVITED_AUTH_ARGON2_MEMORY_KIB=65536",
		"INVITED_AUTH_ARGON2_PARALLELISM= 4 ",
		"INVITED_AUTH_SESSION_TTL=2h",
		"INVITED_AUTH_VERIFY_EMAIL=always",
		"INVITED_MAIL_PORT=2525",
		"INVITED_LIMITS_AUTH_PER_MINUTE=0",
		"INVITED_SITE_NAME=from env",
		"INVITED_SERVER_BASE_URL=https://env.example.com/",
	}
	cfg, warnings := mustLoadConfig(t, path, environ)
	if len(warnings) != 0 {
		t.Errorf("warnings = %q, want none", warnings)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"INVITED_SERVER_LISTEN", cfg.Server.Listen, "127.0.0.1:2222"},
		{"INVITED_SERVER_TRUSTED_PROXIES empty clears the list", cfg.Server.TrustedProxies, []string{}},
		{"INVITED_AUTH_ARGON2_MEMORY_KIB", cfg.Auth.Argon2MemoryKiB, uint32(65536)},
		{"INVITED_AUTH_ARGON2_PARALLELISM", cfg.Auth.Argon2Parallelism, uint8(4)},
		{"INVITED_AUTH_SESSION_TTL", cfg.Auth.SessionTTL, Duration{2 * time.Hour}},
		{"INVITED_AUTH_VERIFY_EMAIL", cfg.Auth.VerifyEmail, "always"},
		{"INVITED_MAIL_PORT", cfg.Mail.Port, 2525},
		{"INVITED_LIMITS_AUTH_PER_MINUTE", cfg.Limits.AuthPerMinute, 0},
		{"INVITED_SITE_NAME", cfg.Site.Name, "from env"},
		{"INVITED_SERVER_BASE_URL trailing slash stripped", cfg.Server.BaseURL, "https://env.example.com"},
		{"file value kept where env is silent", cfg.Invitations.DefaultTTL, Duration{168 * time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

func TestConfigEnvLists(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  []string
	}{
		{"one item", "10.0.0.1", []string{"10.0.0.1"}},
		{"several items", "10.0.0.1,10.0.0.0/8,::1", []string{"10.0.0.1", "10.0.0.0/8", "::1"}},
		{"spaces trimmed", "  10.0.0.1 ,  fd00::/8  ", []string{"10.0.0.1", "fd00::/8"}},
		{"empty items dropped", ",10.0.0.1,, ,10.0.0.2,", []string{"10.0.0.1", "10.0.0.2"}},
		{"empty value is an empty list", "", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := mustLoadConfig(t, "", []string{
				"INVITED_SERVER_TRUSTED_PROXIES=" + tt.value,
				"INVITED_AUTH_INIT_ADMIN_API_TOKENS=" + strings.ReplaceAll(tt.value, "/", "-"),
			})
			if !reflect.DeepEqual(cfg.Server.TrustedProxies, tt.want) {
				t.Errorf("trusted_proxies = %#v, want %#v", cfg.Server.TrustedProxies, tt.want)
			}
			wantTokens := make([]string, len(tt.want))
			for i, w := range tt.want {
				wantTokens[i] = strings.ReplaceAll(w, "/", "-")
			}
			if !reflect.DeepEqual(cfg.Auth.InitAdminAPITokens, wantTokens) {
				t.Errorf("init_admin_api_tokens = %#v, want %#v", cfg.Auth.InitAdminAPITokens, wantTokens)
			}
		})
	}
}

func TestConfigFileErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string // every part must be in the error
	}{
		{
			name: "unknown key names key and line",
			file: "[server]\nlisten = \":1\"\nlistn = \":2\"\n",
			want: []string{"config.toml:3:", "unknown key server.listn", "did you mean server.listen?"},
		},
		{
			name: "key in the wrong section suggests the right one",
			file: "\n[server]\ndata_dir = \"x\"\n",
			want: []string{"config.toml:3:", "unknown key server.data_dir", "storage.data_dir"},
		},
		{
			name: "unknown section",
			file: "[server]\n\n[smtp]\nhost = \"x\"\n",
			want: []string{"config.toml:3:", "unknown section [smtp]"},
		},
		{
			name: "unknown dotted key",
			file: "auth.session_tt = \"1h\"\n",
			want: []string{"config.toml:1:", "auth.session_tt", "auth.session_ttl"},
		},
		{
			name: "every unknown key is reported",
			file: "[log]\nfmt = \"json\"\nlvl = \"debug\"\n",
			want: []string{"config.toml:2:", "log.fmt", "config.toml:3:", "log.lvl"},
		},
		{
			name: "string for a number names key and line",
			file: "[mail]\n\nport = \"abc\"\n",
			want: []string{"config.toml:3:", "mail.port", "found a TOML string", "expected a whole number"},
		},
		{
			name: "number for a list",
			file: "[server]\ntrusted_proxies = 5\n",
			want: []string{"config.toml:2:", "server.trusted_proxies", "expected a list of strings"},
		},
		{
			name: "number for a string",
			file: "[site]\nname = 5\n",
			want: []string{"config.toml:2:", "site.name", "expected a string"},
		},
		{
			name: "too large for uint8",
			file: "[auth]\nargon2_parallelism = 300\n",
			want: []string{"config.toml:2:", "auth.argon2_parallelism", "0 to 255"},
		},
		{
			name: "negative for uint32",
			file: "[auth]\nargon2_iterations = -1\n",
			want: []string{"config.toml:2:", "auth.argon2_iterations"},
		},
		{
			name: "bad duration string",
			file: "[auth]\nsession_ttl = \"7d\"\n",
			want: []string{"config.toml:2:", "auth.session_ttl", `"7d" is not a duration`},
		},
		{
			name: "number for a duration",
			file: "[invitations]\n\ndefault_ttl = 3600\n",
			want: []string{"config.toml:3:", "invitations.default_ttl", "3600 is not a duration string"},
		},
		{
			name: "number for a duration in an inline table",
			file: "auth = { session_ttl = 0 }\n",
			want: []string{"config.toml:1:", "auth.session_ttl"},
		},
		{
			name: "empty inline table for a duration",
			file: "[auth]\nsession_ttl = {}\n",
			want: []string{"config.toml:2:", "auth.session_ttl", "an inline table is not a duration string"},
		},
		{
			name: "table header for a duration",
			file: "\n[auth.session_ttl]\n",
			want: []string{"config.toml:2:", "auth.session_ttl is a duration, not a table"},
		},
		{
			name: "keys match without case, as in go-toml",
			file: "[Auth]\nSession_TTL = 5\n",
			want: []string{"config.toml:2:", "auth.session_ttl", "5 is not a duration string"},
		},
		{
			name: "table header for a number says so without Go types",
			file: "\n[mail.port]\n",
			want: []string{"config.toml:2:", "mail.port: found a TOML table; expected a whole number"},
		},
		{
			name: "value where a section belongs",
			file: "server = \"x\"\n",
			want: []string{"config.toml:1:", "server must be a section"},
		},
		{
			name: "syntax error names line",
			file: "[server]\nlisten = \n",
			want: []string{"config.toml:2:", "not valid TOML"},
		},
		{
			name: "file values are validated",
			file: "[auth]\nmin_password_score = 7\n",
			want: []string{"auth.min_password_score: 7 is out of range; use 0 to 4"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := LoadConfig(writeConfigFile(t, tt.file), nil)
			wantErrorContaining(t, err, tt.want...)
		})
	}

	t.Run("missing file names the path", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nope.toml")
		_, _, err := LoadConfig(path, nil)
		wantErrorContaining(t, err, path)
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error %v is not fs.ErrNotExist", err)
		}
	})
}

func TestConfigPathFromEnv(t *testing.T) {
	path := writeConfigFile(t, "[site]\nname = \"via INVITED_CONFIG\"\n")
	tests := []struct {
		name     string
		argPath  string
		environ  []string
		wantName string
		wantErr  string
	}{
		{"used when no path is given", "", []string{"INVITED_CONFIG=" + path}, "via INVITED_CONFIG", ""},
		{"explicit path wins", writeConfigFile(t, "[site]\nname = \"explicit\"\n"), []string{"INVITED_CONFIG=" + path}, "explicit", ""},
		{"missing file named by INVITED_CONFIG is an error", "", []string{"INVITED_CONFIG=/does/not/exist.toml"}, "", "/does/not/exist.toml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, warnings, err := LoadConfig(tt.argPath, tt.environ)
			if tt.wantErr != "" {
				wantErrorContaining(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) != 0 {
				t.Errorf("warnings = %q, want none (INVITED_CONFIG is known)", warnings)
			}
			if cfg.Site.Name != tt.wantName {
				t.Errorf("site.name = %q, want %q", cfg.Site.Name, tt.wantName)
			}
		})
	}
}

func TestConfigEnvWarnings(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		want    []string // one substring per expected warning, in order
	}{
		{"unknown variable", []string{"INVITED_FOO_BAR=1"}, []string{"unknown environment variable INVITED_FOO_BAR"}},
		{"typo suggests the known name", []string{"INVITED_SERVER_LISTN=:1"}, []string{"INVITED_SERVER_LISTN is ignored (did you mean INVITED_SERVER_LISTEN?)"}},
		{"missing section suggests the known name", []string{"INVITED_SESSION_TTL=1h"}, []string{"did you mean INVITED_AUTH_SESSION_TTL?"}},
		{"several, in environ order", []string{"INVITED_B=1", "INVITED_A=1"}, []string{"INVITED_B", "INVITED_A"}},
		{"other variables are not ours", []string{"HOME=/root", "INVITEDX=1", "invited_server_listen=:1", "NOEQUALS"}, nil},
		{"known variables give no warning", []string{"INVITED_LOG_LEVEL=debug", "INVITED_CONFIG="}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, warnings, err := LoadConfig("", tt.environ)
			if err != nil {
				t.Fatalf("unknown variables must not be errors: %v", err)
			}
			if len(warnings) != len(tt.want) {
				t.Fatalf("warnings = %q, want %d", warnings, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %q does not contain %q", warnings[i], w)
				}
			}
		})
	}

	t.Run("warnings are returned with an error too", func(t *testing.T) {
		_, warnings, err := LoadConfig("", []string{"INVITED_NOPE=1", "INVITED_MAIL_PORT=x"})
		if err == nil || len(warnings) != 1 {
			t.Errorf("err = %v, warnings = %q; want an error and one warning", err, warnings)
		}
	})
}

func TestConfigEnvErrors(t *testing.T) {
	tests := []struct {
		name string
		env  string
		want []string
	}{
		{"not a number", "INVITED_MAIL_PORT=abc", []string{`INVITED_MAIL_PORT: "abc" is not a whole number`}},
		{"empty number", "INVITED_LIMITS_AUTH_PER_MINUTE=", []string{"INVITED_LIMITS_AUTH_PER_MINUTE", "is not a whole number"}},
		{"fraction", "INVITED_AUTH_MAX_LOGIN_ATTEMPTS=1.5", []string{"INVITED_AUTH_MAX_LOGIN_ATTEMPTS", "not a whole number"}},
		{"uint8 overflow", "INVITED_AUTH_ARGON2_PARALLELISM=256", []string{"INVITED_AUTH_ARGON2_PARALLELISM", "out of range; use 0 to 255"}},
		{"negative unsigned", "INVITED_AUTH_ARGON2_MEMORY_KIB=-5", []string{"INVITED_AUTH_ARGON2_MEMORY_KIB", "out of range; use 0 to 4294967295"}},
		{"int overflow", "INVITED_AUTH_MIN_PASSWORD_LENGTH=99999999999999999999", []string{"INVITED_AUTH_MIN_PASSWORD_LENGTH", "out of range"}},
		{"bad duration", "INVITED_AUTH_SESSION_TTL=7d", []string{`INVITED_AUTH_SESSION_TTL: "7d" is not a duration`}},
		{"plain number for a duration", "INVITED_INVITATIONS_DEFAULT_TTL=3600", []string{"INVITED_INVITATIONS_DEFAULT_TTL", "not a duration"}},
		{"env values are validated", "INVITED_LOG_LEVEL=trace", []string{"log.level", `"trace"`}},
		{"unknown verification mode", "INVITED_AUTH_VERIFY_EMAIL=yes", []string{"auth.verify_email", `"yes" is not known`, `"never"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := LoadConfig("", []string{tt.env})
			wantErrorContaining(t, err, tt.want...)
		})
	}

	t.Run("every bad variable is reported", func(t *testing.T) {
		_, _, err := LoadConfig("", []string{"INVITED_MAIL_PORT=x", "INVITED_AUTH_SESSION_TTL=y"})
		wantErrorContaining(t, err, "INVITED_MAIL_PORT", "INVITED_AUTH_SESSION_TTL")
	})
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		key    string // the message must start with this key
		want   string // and contain this
	}{
		{"listen without port", func(c *Config) { c.Server.Listen = "localhost" }, "server.listen", "not host:port"},
		{"listen with bad port", func(c *Config) { c.Server.Listen = "localhost:http-ish" }, "server.listen", "0 to 65535"},
		{"listen port too large", func(c *Config) { c.Server.Listen = ":70000" }, "server.listen", "0 to 65535"},
		{"listen empty", func(c *Config) { c.Server.Listen = "" }, "server.listen", "not host:port"},
		{"base_url relative", func(c *Config) { c.Server.BaseURL = "/invite" }, "server.base_url", "http:// or https://"},
		{"base_url other scheme", func(c *Config) { c.Server.BaseURL = "ftp://example.com" }, "server.base_url", "http:// or https://"},
		{"base_url without host", func(c *Config) { c.Server.BaseURL = "https://" }, "server.base_url", "no host"},
		{"base_url with query", func(c *Config) { c.Server.BaseURL = "https://example.com/?a=1" }, "server.base_url", "query"},
		{"base_url with fragment", func(c *Config) { c.Server.BaseURL = "https://example.com/#top" }, "server.base_url", "fragment"},
		{"base_url with credentials", func(c *Config) { c.Server.BaseURL = "https://u:p@example.com" }, "server.base_url", "user name"},
		{"base_url empty", func(c *Config) { c.Server.BaseURL = "" }, "server.base_url", "empty"},
		{"trusted proxy not an IP", func(c *Config) { c.Server.TrustedProxies = []string{"10.0.0.1", "proxy.local"} }, "server.trusted_proxies", `"proxy.local"`},
		{"trusted proxy bad CIDR", func(c *Config) { c.Server.TrustedProxies = []string{"10.0.0.0/33"} }, "server.trusted_proxies", "CIDR"},
		{"data_dir empty", func(c *Config) { c.Storage.DataDir = " " }, "storage.data_dir", "empty"},
		{"empty admin token", func(c *Config) { c.Auth.InitAdminAPITokens = []string{"ok", ""} }, "auth.init_admin_api_tokens", "item 2 is empty"},
		{"argon2 memory below 8 KiB per thread", func(c *Config) { c.Auth.Argon2Parallelism, c.Auth.Argon2MemoryKiB = 4, 31 }, "auth.argon2_memory_kib", "use 32 to"},
		{"argon2 memory above 4 GiB", func(c *Config) { c.Auth.Argon2MemoryKiB = 4*1024*1024 + 1 }, "auth.argon2_memory_kib", "too large"},
		{"argon2 iterations zero", func(c *Config) { c.Auth.Argon2Iterations = 0 }, "auth.argon2_iterations", "1 or more"},
		{"argon2 parallelism zero", func(c *Config) { c.Auth.Argon2Parallelism = 0 }, "auth.argon2_parallelism", "1 to 255"},
		{"max_concurrent_hashes zero", func(c *Config) { c.Auth.MaxConcurrentHashes = 0 }, "auth.max_concurrent_hashes", "1 or more"},
		{"min_password_length zero", func(c *Config) { c.Auth.MinPasswordLength = 0 }, "auth.min_password_length", "use 1 to 1024"},
		{"min_password_length too large", func(c *Config) { c.Auth.MinPasswordLength = 1025 }, "auth.min_password_length", "use 1 to 1024"},
		{"min_password_score too large", func(c *Config) { c.Auth.MinPasswordScore = 7 }, "auth.min_password_score", "7 is out of range; use 0 to 4"},
		{"min_password_score negative", func(c *Config) { c.Auth.MinPasswordScore = -1 }, "auth.min_password_score", "use 0 to 4"},
		{"max_login_attempts zero", func(c *Config) { c.Auth.MaxLoginAttempts = 0 }, "auth.max_login_attempts", "1 or more"},
		{"lockout_max zero", func(c *Config) { c.Auth.LockoutMax = Duration{} }, "auth.lockout_max", "not positive"},
		{"session_ttl zero", func(c *Config) { c.Auth.SessionTTL = Duration{} }, "auth.session_ttl", "not positive"},
		{"verify_email unknown", func(c *Config) { c.Auth.VerifyEmail = "sometimes" }, "auth.verify_email", `"sometimes" is not known; use "domains"`},
		{"verify_email empty", func(c *Config) { c.Auth.VerifyEmail = "" }, "auth.verify_email", `"" is not known`},
		{"verify_email in capitals", func(c *Config) { c.Auth.VerifyEmail = "Always" }, "auth.verify_email", `"Always" is not known`},
		{"verify_email with a newline", func(c *Config) { c.Auth.VerifyEmail = "never\n" }, "auth.verify_email", `"never\n" is not known`},
		{"require_second_factor unknown role", func(c *Config) { c.Auth.RequireSecondFactor = []string{"Admin", "Owner"} }, "auth.require_second_factor", `"Owner" is not a role`},
		{"default_ttl negative", func(c *Config) { c.Invitations.DefaultTTL = Duration{-time.Hour} }, "invitations.default_ttl", "not positive"},
		{"retention.events negative", func(c *Config) { c.Retention.Events = Duration{-time.Hour} }, "retention.events", "-1h is negative"},
		{"retention.events most negative", func(c *Config) { c.Retention.Events = Duration{time.Duration(-1 << 63)} }, "retention.events", "is negative"},
		{"retention.emails negative", func(c *Config) { c.Retention.Emails = Duration{-time.Nanosecond} }, "retention.emails", "is negative"},
		{"webhooks retry_delay zero", func(c *Config) { c.Webhooks.RetryDelay = Duration{} }, "webhooks.retry_delay", "must be positive"},
		{"webhooks max_attempts zero", func(c *Config) { c.Webhooks.MaxAttempts = 0 }, "webhooks.max_attempts", "use 1 to 100"},
		{"webhooks max_attempts too large", func(c *Config) { c.Webhooks.MaxAttempts = 101 }, "webhooks.max_attempts", "use 1 to 100"},
		{"mail driver unknown", func(c *Config) { c.Mail.Driver = "sendmail" }, "mail.driver", `use "log" or "smtp"`},
		{"smtp without host", func(c *Config) { c.Mail.Driver, c.Mail.From = "smtp", "a@example.com" }, "mail.host", "empty"},
		{"smtp without from", func(c *Config) { c.Mail.Driver, c.Mail.Host = "smtp", "smtp.example.com" }, "mail.from", "empty"},
		{"mail from not an address", func(c *Config) { c.Mail.From = "not an address" }, "mail.from", "not an email address"},
		{"mail port zero", func(c *Config) { c.Mail.Port = 0 }, "mail.port", "use 1 to 65535"},
		{"mail port too large", func(c *Config) { c.Mail.Port = 65536 }, "mail.port", "use 1 to 65535"},
		{"mail tls unknown", func(c *Config) { c.Mail.TLS = "ssl" }, "mail.tls", `"starttls", "tls" or "none"`},
		{"auth limit negative", func(c *Config) { c.Limits.AuthPerMinute = -1 }, "limits.auth_per_minute", "0 (off) or more"},
		{"public limit negative", func(c *Config) { c.Limits.PublicPerMinute = -1 }, "limits.public_per_minute", "0 (off) or more"},
		{"site name empty", func(c *Config) { c.Site.Name = "" }, "site.name", "empty"},
		{"site name with control character", func(c *Config) { c.Site.Name = "bad\nname" }, "site.name", "control characters"},
		{"log format unknown", func(c *Config) { c.Log.Format = "xml" }, "log.format", `"text" or "json"`},
		{"log level unknown", func(c *Config) { c.Log.Level = "trace" }, "log.level", `"debug", "info", "warn" or "error"`},
		{"cookie_domain outside base_url", func(c *Config) { c.Server.BaseURL, c.Auth.CookieDomain = "https://invite.example.com", "example.org" },
			"auth.cookie_domain", `"example.org" does not hold server.base_url's host "invite.example.com"`},
		{"cookie_domain only a suffix of the host's text", func(c *Config) { c.Server.BaseURL, c.Auth.CookieDomain = "https://badexample.com", "example.com" },
			"auth.cookie_domain", "does not hold"},
		{"cookie_domain below the host", func(c *Config) { c.Server.BaseURL, c.Auth.CookieDomain = "https://example.com", "apps.example.com" },
			"auth.cookie_domain", "does not hold"},
		{"cookie_domain not a domain", func(c *Config) { c.Auth.CookieDomain = "exa mple" }, "auth.cookie_domain", "not a domain name"},
		{"cookie_domain for the default localhost", func(c *Config) { c.Auth.CookieDomain = "localhost" }, "auth.cookie_domain", "not a domain name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			wantErrorContaining(t, err, tt.key+": ", tt.want)
			if err != nil && !strings.HasPrefix(err.Error(), tt.key+": ") {
				t.Errorf("error %q does not start with %q", err, tt.key+": ")
			}
		})
	}

	accepted := []struct {
		name   string
		mutate func(c *Config)
	}{
		{"listen on all interfaces", func(c *Config) { c.Server.Listen = ":4242" }},
		{"listen on IPv6", func(c *Config) { c.Server.Listen = "[::1]:4242" }},
		{"listen on port 0", func(c *Config) { c.Server.Listen = "127.0.0.1:0" }},
		{"base_url with path", func(c *Config) { c.Server.BaseURL = "https://example.com/invited" }},
		{"IPv6 proxies", func(c *Config) { c.Server.TrustedProxies = []string{"::1", "fd00::/8"} }},
		{"smtp fully set", func(c *Config) {
			c.Mail = MailConfig{Driver: "smtp", Host: "smtp.example.com", Port: 25, From: "Invited <i@example.com>", TLS: "none", RetryDelay: Duration{time.Second}, MaxAttempts: 1}
		}},
		{"limits off and score off", func(c *Config) { c.Limits = LimitsConfig{}; c.Auth.MinPasswordScore = 0 }},
		{"argon2 minimum memory", func(c *Config) { c.Auth.Argon2Parallelism, c.Auth.Argon2MemoryKiB = 2, 16 }},
		{"argon2 maximum memory", func(c *Config) { c.Auth.Argon2MemoryKiB = 4 * 1024 * 1024 }},
		{"unicode site name", func(c *Config) { c.Site.Name = "Zugang für Müller & Co" }},
		{"verify_email always", func(c *Config) { c.Auth.VerifyEmail = "always" }},
		{"verify_email never", func(c *Config) { c.Auth.VerifyEmail = "never" }},
		{"cookie_domain a parent of the host", func(c *Config) { c.Server.BaseURL, c.Auth.CookieDomain = "https://invite.example.com", "example.com" }},
		{"cookie_domain the host itself", func(c *Config) {
			c.Server.BaseURL, c.Auth.CookieDomain = "https://Invite.Example.com:8443", "invite.example.com"
		}},
	}
	for _, tt := range accepted {
		t.Run("accepts "+tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}

	t.Run("every problem is reported", func(t *testing.T) {
		c := DefaultConfig()
		c.Log.Level, c.Site.Name = "loud", ""
		wantErrorContaining(t, c.Validate(), "log.level", "site.name")
	})
}

func TestConfigExampleFile(t *testing.T) {
	const path = "config.example.toml"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)

	t.Run("loads to the defaults", func(t *testing.T) {
		// max_concurrent_hashes defaults to the number of CPUs, which no
		// file can state, so the example leaves it commented out.
		cfg, warnings := mustLoadConfig(t, path, nil)
		if len(warnings) != 0 {
			t.Errorf("warnings = %q", warnings)
		}
		if want := DefaultConfig(); !reflect.DeepEqual(cfg, want) {
			t.Errorf("example file = %+v,\nwant DefaultConfig() %+v", cfg, want)
		}
	})

	t.Run("documents every key and its env variable", func(t *testing.T) {
		for _, k := range configKeys() {
			if !strings.Contains(text, "["+k.section+"]\n") {
				t.Errorf("section [%s] is missing", k.section)
			}
			if !strings.Contains(text, "\n"+k.name+" = ") && !strings.Contains(text, "\n# "+k.name+" = ") {
				t.Errorf("key %s is missing", k.dotted())
			}
			if !strings.Contains(text, "Env: "+k.env+"\n") {
				t.Errorf("env variable %s of %s is not mentioned", k.env, k.dotted())
			}
		}
	})

	t.Run("the commented key loads when uncommented", func(t *testing.T) {
		const commented = "\n# max_concurrent_hashes = 4\n"
		if !strings.Contains(text, commented) {
			t.Fatalf("example file no longer has %q", commented)
		}
		p := writeConfigFile(t, strings.Replace(text, commented, "\nmax_concurrent_hashes = 4\n", 1))
		cfg, _ := mustLoadConfig(t, p, nil)
		want := DefaultConfig()
		want.Auth.MaxConcurrentHashes = 4
		if !reflect.DeepEqual(cfg, want) {
			t.Errorf("got %+v, want %+v", cfg, want)
		}
	})
}

func TestConfigEnvNames(t *testing.T) {
	seen := map[string]string{}
	for _, k := range configKeys() {
		if other, dup := seen[k.env]; dup {
			t.Errorf("%s and %s share the variable %s", other, k.dotted(), k.env)
		}
		seen[k.env] = k.dotted()
	}
	tests := []struct{ key, env string }{
		{"server.listen", "INVITED_SERVER_LISTEN"},
		{"server.trusted_proxies", "INVITED_SERVER_TRUSTED_PROXIES"},
		{"auth.argon2_memory_kib", "INVITED_AUTH_ARGON2_MEMORY_KIB"},
		{"auth.lockout_max", "INVITED_AUTH_LOCKOUT_MAX"},
		{"limits.auth_per_minute", "INVITED_LIMITS_AUTH_PER_MINUTE"},
		{"invitations.default_ttl", "INVITED_INVITATIONS_DEFAULT_TTL"},
		{"retention.events", "INVITED_RETENTION_EVENTS"},
		{"retention.emails", "INVITED_RETENTION_EMAILS"},
		{"log.level", "INVITED_LOG_LEVEL"},
		{"auth.cookie_domain", "INVITED_AUTH_COOKIE_DOMAIN"},
		{"auth.verify_email", "INVITED_AUTH_VERIFY_EMAIL"},
		{"auth.require_second_factor", "INVITED_AUTH_REQUIRE_SECOND_FACTOR"},
		{"webhooks.allow_private", "INVITED_WEBHOOKS_ALLOW_PRIVATE"},
		{"webhooks.retry_delay", "INVITED_WEBHOOKS_RETRY_DELAY"},
		{"webhooks.max_attempts", "INVITED_WEBHOOKS_MAX_ATTEMPTS"},
		{"mail.notify_inviter", "INVITED_MAIL_NOTIFY_INVITER"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if seen[tt.env] != tt.key {
				t.Errorf("%s is set by %q, want %q", tt.env, seen[tt.env], tt.key)
			}
		})
	}
	if len(seen) != 42 {
		t.Errorf("%d keys, want 42 (update the example file and this count together)", len(seen))
	}
}

func TestConfigDurationText(t *testing.T) {
	tests := []struct {
		text string
		want time.Duration
		out  string
	}{
		{"168h", 168 * time.Hour, "168h"},
		{"30m", 30 * time.Minute, "30m"},
		{"1h30m", 90 * time.Minute, "1h30m"},
		{"90s", 90 * time.Second, "1m30s"},
		{"1500ms", 1500 * time.Millisecond, "1.5s"},
		{"0s", 0, "0s"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			var d Duration
			if err := d.UnmarshalText([]byte(tt.text)); err != nil {
				t.Fatal(err)
			}
			if d.Duration != tt.want {
				t.Errorf("parsed %v, want %v", d.Duration, tt.want)
			}
			out, err := d.MarshalText()
			if err != nil || string(out) != tt.out {
				t.Errorf("MarshalText = %q, %v; want %q", out, err, tt.out)
			}
		})
	}
	var d Duration
	if err := d.UnmarshalText([]byte("a week")); err == nil {
		t.Error(`UnmarshalText("a week") succeeded`)
	}
}

// TestConfigCookieDomainNormalised: auth.cookie_domain is kept in the one
// form a cookie is sent with: lower case, punycode, no leading dot.
func TestConfigCookieDomainNormalised(t *testing.T) {
	for in, want := range map[string]string{".Example.COM": "example.com", "bücher.example": "xn--bcher-kva.example"} {
		base := "https://login." + want
		cfg, _ := mustLoadConfig(t, "", []string{"INVITED_SERVER_BASE_URL=" + base, "INVITED_AUTH_COOKIE_DOMAIN=" + in})
		if cfg.Auth.CookieDomain != want {
			t.Errorf("%q: %q, want %q", in, cfg.Auth.CookieDomain, want)
		}
	}
	_, _, err := LoadConfig("", []string{"INVITED_SERVER_BASE_URL=https://invite.example.com", "INVITED_AUTH_COOKIE_DOMAIN=evil.example"})
	wantErrorContaining(t, err, "auth.cookie_domain", "evil.example", "invite.example.com")
}

func TestConfigRequireSecondFactorFromEnv(t *testing.T) {
	cfg, _, err := LoadConfig("", []string{"INVITED_AUTH_REQUIRE_SECOND_FACTOR=admin, Editor"})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Auth.secondFactorRoles(); len(got) != 2 || got[0] != db.RoleAdmin || got[1] != db.RoleEditor {
		t.Fatalf("roles %v from the environment", got)
	}
	if _, _, err := LoadConfig("", []string{"INVITED_AUTH_REQUIRE_SECOND_FACTOR=Admin,root"}); err == nil || !strings.Contains(err.Error(), "auth.require_second_factor") {
		t.Fatalf("an unknown role: %v", err)
	}
}

// TestConfigRetention: retention.events and retention.emails from the file
// and the environment, 0 for ever, and clear refusals of nonsense.
func TestConfigRetention(t *testing.T) {
	path := writeConfigFile(t, "[retention]\nevents = \"0\"\nemails = \"48h\"\n")
	cfg, _ := mustLoadConfig(t, path, nil)
	if cfg.Retention.Events.Duration != 0 || cfg.Retention.Emails.Duration != 48*time.Hour {
		t.Errorf("from the file: %+v", cfg.Retention)
	}
	if r := cfg.Retention.retention(); r.Events != 0 || r.Emails != 48*time.Hour || r.Batch != 0 {
		t.Errorf("as the store takes it: %+v", r)
	}
	cfg, _ = mustLoadConfig(t, path, []string{"INVITED_RETENTION_EVENTS=2160h", "INVITED_RETENTION_EMAILS=0s"})
	if cfg.Retention.Events.Duration != 2160*time.Hour || cfg.Retention.Emails.Duration != 0 {
		t.Errorf("env over the file: %+v", cfg.Retention)
	}

	bad := []struct {
		name string
		file string
		env  string
		want []string
	}{
		{"negative in the file", "[retention]\nevents = \"-1h\"\n", "", []string{"retention.events", "-1h is negative", "0 to keep events for ever"}},
		{"negative in the env", "", "INVITED_RETENTION_EMAILS=-720h", []string{"retention.emails", "is negative"}},
		{"days are not a unit", "", "INVITED_RETENTION_EVENTS=365d", []string{"INVITED_RETENTION_EVENTS", `"365d" is not a duration`}},
		{"a word", "", "INVITED_RETENTION_EMAILS=forever", []string{"INVITED_RETENTION_EMAILS", "not a duration"}},
		{"empty", "", "INVITED_RETENTION_EVENTS=", []string{"INVITED_RETENTION_EVENTS", "not a duration"}},
		{"a bare number in the file", "[retention]\nemails = 720\n", "", []string{"retention.emails"}},
		{"overflowing", "", "INVITED_RETENTION_EVENTS=999999999999h", []string{"INVITED_RETENTION_EVENTS", "not a duration"}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			p := ""
			if tt.file != "" {
				p = writeConfigFile(t, tt.file)
			}
			var env []string
			if tt.env != "" {
				env = []string{tt.env}
			}
			_, _, err := LoadConfig(p, env)
			wantErrorContaining(t, err, tt.want...)
		})
	}
}
