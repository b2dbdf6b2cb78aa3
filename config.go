package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"invited/db"
)

// envPrefix starts the name of every environment variable that sets a key.
const envPrefix = "INVITED_"

// envConfigPath names the environment variable that points at the config
// file when no path is given explicitly.
const envConfigPath = "INVITED_CONFIG"

// maxArgon2MemoryKiB is the largest argon2 memory cost accepted (4 GiB).
const maxArgon2MemoryKiB = 4 * 1024 * 1024

// Duration is a time.Duration that is written in TOML files and environment
// variables as a Go duration string, such as "168h" or "30m".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string such as "168h" or "1h30m".
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := parseDuration(string(text))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration in its shortest Go form: "168h" rather
// than "168h0m0s".
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(formatDuration(d.Duration)), nil
}

// formatDuration drops the zero minutes and seconds that time.Duration.String
// leaves at the end ("168h0m0s" becomes "168h"); the result still parses.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// parseDuration reads a duration string and explains what is expected when
// it cannot.
func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration; write a number with a unit, like \"168h\", \"30m\" or \"90s\"", s)
	}
	return v, nil
}

// Config is the whole configuration of invited. Each field is one section
// of the TOML file; see config.example.toml for every key and its default.
type Config struct {
	Server      ServerConfig      `toml:"server"`
	Storage     StorageConfig     `toml:"storage"`
	Auth        AuthConfig        `toml:"auth"`
	Invitations InvitationsConfig `toml:"invitations"`
	Mail        MailConfig        `toml:"mail"`
	Webhooks    WebhooksConfig    `toml:"webhooks"`
	Limits      LimitsConfig      `toml:"limits"`
	Retention   RetentionConfig   `toml:"retention"`
	Site        SiteConfig        `toml:"site"`
	Log         LogConfig         `toml:"log"`
}

// ServerConfig is the [server] section: where the HTTP server listens and
// how it is reached from outside.
type ServerConfig struct {
	// Listen is the host:port the HTTP server binds to.
	Listen string `toml:"listen"`
	// BaseURL is the public URL that links in pages, emails, API answers
	// and the admin TUI start with (package weburl), without a trailing
	// slash.
	BaseURL string `toml:"base_url"`
	// TrustedProxies lists the IP addresses or CIDR ranges of reverse
	// proxies whose forwarding headers are believed.
	TrustedProxies []string `toml:"trusted_proxies"`
	// TLSCert and TLSKey are PEM files; with both set the server speaks
	// HTTPS itself instead of leaving TLS to a reverse proxy.
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	// SSHListen is the host:port of the SSH server that opens the admin
	// TUI for Admins and Editors with a registered key (DESIGN §13); empty
	// (the default) means no SSH server.
	SSHListen string `toml:"ssh_listen"`
}

// StorageConfig is the [storage] section.
type StorageConfig struct {
	// DataDir holds the database (invited.db) and the admin socket
	// (admin.sock).
	DataDir string `toml:"data_dir"`
}

// AuthConfig is the [auth] section: passwords, sessions and bootstrap keys.
type AuthConfig struct {
	// InitAdminAPITokens are admin API keys created at start when missing.
	InitAdminAPITokens []string `toml:"init_admin_api_tokens"`
	// Argon2MemoryKiB is the argon2id memory cost in KiB.
	Argon2MemoryKiB uint32 `toml:"argon2_memory_kib"`
	// Argon2Iterations is the argon2id time cost.
	Argon2Iterations uint32 `toml:"argon2_iterations"`
	// Argon2Parallelism is the number of argon2id threads per hash.
	Argon2Parallelism uint8 `toml:"argon2_parallelism"`
	// MaxConcurrentHashes caps how many password hashes run at once.
	MaxConcurrentHashes int `toml:"max_concurrent_hashes"`
	// MinPasswordLength is the fewest characters a new password may have.
	MinPasswordLength int `toml:"min_password_length"`
	// MinPasswordScore is the lowest zxcvbn strength score (0 to 4) a new
	// password may have; 0 turns the check off.
	MinPasswordScore int `toml:"min_password_score"`
	// MaxLoginAttempts is how many failed logins in a row an account may
	// have before it must wait between tries (1 minute, doubling with
	// each further failure, up to LockoutMax).
	MaxLoginAttempts int `toml:"max_login_attempts"`
	// LockoutMax is the longest an account must wait after failed logins;
	// it is never locked for ever.
	LockoutMax Duration `toml:"lockout_max"`
	// SessionTTL is how long a login session lasts.
	SessionTTL Duration `toml:"session_ttl"`
	// CookieDomain is the domain the login cookie is set for, such as
	// "example.com", so that every app on a subdomain receives it (for the
	// forward-auth gate); "" sets it for server.base_url's host only. It
	// must hold server.base_url's host (be it, or a parent of it).
	CookieDomain string `toml:"cookie_domain"`
	// VerifyEmail says which signups through a link must verify their
	// address (open an emailed link) before they may log in: "domains"
	// (links with allowedDomains), "always" (every link) or "never".
	// Invitations prove the address by construction.
	VerifyEmail string `toml:"verify_email"`
	// RequireSecondFactor lists the roles ("Admin", "Editor", "Viewer")
	// whose users must have a second factor: one without any sets an
	// authenticator app up at their next login, before a session.
	RequireSecondFactor []string `toml:"require_second_factor"`
}

// secondFactorRoles are the roles of RequireSecondFactor (validated).
func (a AuthConfig) secondFactorRoles() []db.Role {
	var roles []db.Role
	for _, name := range a.RequireSecondFactor {
		if r, ok := db.ParseRole(name); ok {
			roles = append(roles, r)
		}
	}
	return roles
}

// InvitationsConfig is the [invitations] section.
type InvitationsConfig struct {
	// DefaultTTL is how long an invitation stays valid when its creator
	// does not say.
	DefaultTTL Duration `toml:"default_ttl"`
}

// MailConfig is the [mail] section: how emails are delivered.
type MailConfig struct {
	// Driver is "log" (write emails to the log) or "smtp" (send them).
	Driver string `toml:"driver"`
	// Host is the SMTP server name.
	Host string `toml:"host"`
	// Port is the SMTP server port.
	Port int `toml:"port"`
	// Username is the SMTP login; empty means no authentication.
	Username string `toml:"username"`
	// Password is the SMTP password.
	Password string `toml:"password"`
	// From is the sender address of every email.
	From string `toml:"from"`
	// TLS is "starttls", "tls" (implicit TLS) or "none".
	TLS string `toml:"tls"`
	// Welcome sends a welcome email after every signup.
	Welcome bool `toml:"welcome"`
	// NotifyInviter emails the user who made an invitation when it is
	// accepted (DESIGN §12).
	NotifyInviter bool `toml:"notify_inviter"`
	// RetryDelay is the wait before the first retry of a failed email;
	// it doubles with each attempt, up to an hour.
	RetryDelay Duration `toml:"retry_delay"`
	// MaxAttempts is how many times an email is tried before it is
	// marked failed.
	MaxAttempts int `toml:"max_attempts"`
}

// WebhooksConfig is the [webhooks] section: how webhook deliveries go
// out (DESIGN §12).
type WebhooksConfig struct {
	// AllowPrivate lets deliveries reach loopback, private (RFC 1918,
	// fc00::/7), link-local and CGNAT addresses; off, such targets are
	// refused after DNS resolution.
	AllowPrivate bool `toml:"allow_private"`
	// RetryDelay is the wait before the first retry of a failed delivery;
	// it doubles with each attempt, up to an hour.
	RetryDelay Duration `toml:"retry_delay"`
	// MaxAttempts is how many times a delivery is tried before it is
	// marked failed.
	MaxAttempts int `toml:"max_attempts"`
}

// LimitsConfig is the [limits] section: request rates per client IP.
type LimitsConfig struct {
	// AuthPerMinute limits requests to /auth/*; 0 turns the limit off.
	AuthPerMinute int `toml:"auth_per_minute"`
	// PublicPerMinute limits requests to the public invitation and signup
	// pages and endpoints; 0 turns the limit off.
	PublicPerMinute int `toml:"public_per_minute"`
}

// RetentionConfig is the [retention] section: how long records without an
// expiry of their own are kept. (Sessions, sign-in requests, codes and
// one-time tokens are deleted once they expire, every hour; users, links,
// invitations and the other records admins manage are never deleted by
// age.)
type RetentionConfig struct {
	// Events is how long an audit event is kept; 0 keeps events for ever.
	Events Duration `toml:"events"`
	// Emails is how long an email that was sent, failed for good or was
	// cancelled is kept in the outbox; 0 keeps them for ever. Pending
	// emails are never deleted.
	Emails Duration `toml:"emails"`
}

// retention is the [retention] section as the store takes it.
func (r RetentionConfig) retention() db.Retention {
	return db.Retention{Events: r.Events.Duration, Emails: r.Emails.Duration}
}

// SiteConfig is the [site] section.
type SiteConfig struct {
	// Name is the product name shown in pages and emails. Left at its
	// default ("invited", the program's name), emails name the site by
	// server.base_url's host instead.
	Name string `toml:"name"`
}

// LogConfig is the [log] section.
type LogConfig struct {
	// Format is "text" or "json".
	Format string `toml:"format"`
	// Level is "debug", "info", "warn" or "error".
	Level string `toml:"level"`
}

// DefaultConfig returns the configuration used when nothing is set: data in
// ./data, listening on 127.0.0.1:4242, emails written to the log.
func DefaultConfig() Config {
	return Config{
		Server: ServerConfig{
			Listen:         "127.0.0.1:4242",
			BaseURL:        "http://localhost:4242",
			TrustedProxies: []string{},
		},
		Storage: StorageConfig{DataDir: "./data"},
		Auth: AuthConfig{
			InitAdminAPITokens:  []string{},
			Argon2MemoryKiB:     19456,
			Argon2Iterations:    2,
			Argon2Parallelism:   1,
			MaxConcurrentHashes: runtime.NumCPU(),
			MinPasswordLength:   8,
			MinPasswordScore:    2,
			MaxLoginAttempts:    10,
			LockoutMax:          Duration{15 * time.Minute},
			SessionTTL:          Duration{168 * time.Hour},
			VerifyEmail:         string(db.VerifyEmailDomains),
			RequireSecondFactor: []string{},
		},
		Invitations: InvitationsConfig{DefaultTTL: Duration{168 * time.Hour}},
		Mail: MailConfig{
			Driver:        "log",
			Port:          587,
			TLS:           "starttls",
			Welcome:       true,
			NotifyInviter: true,
			RetryDelay:    Duration{10 * time.Second},
			MaxAttempts:   8,
		},
		Webhooks: WebhooksConfig{RetryDelay: Duration{10 * time.Second}, MaxAttempts: 10},
		Limits:   LimitsConfig{AuthPerMinute: 10, PublicPerMinute: 60},
		Retention: RetentionConfig{
			Events: Duration{8760 * time.Hour},
			Emails: Duration{720 * time.Hour},
		},
		Site: SiteConfig{Name: "invited"},
		Log:  LogConfig{Format: "text", Level: "info"},
	}
}

// DatabasePath is the bbolt database file inside the data directory.
func (c Config) DatabasePath() string {
	return filepath.Join(c.Storage.DataDir, "invited.db")
}

// SSHHostKeyPath is the SSH server's private host key inside the data
// directory, made on the first start with server.ssh_listen set.
func (c Config) SSHHostKeyPath() string {
	return filepath.Join(c.Storage.DataDir, "ssh_host_ed25519_key")
}

// SocketPath is the local admin socket inside the data directory.
func (c Config) SocketPath() string {
	return filepath.Join(c.Storage.DataDir, "admin.sock")
}

// configKey describes one settable key, found by reflection over Config so
// that file keys, environment names and struct fields cannot drift apart.
type configKey struct {
	section string // TOML section, e.g. "auth"
	name    string // TOML key inside the section, e.g. "session_ttl"
	env     string // environment variable, e.g. "INVITED_AUTH_SESSION_TTL"
	index   []int  // field index path from Config
	typ     reflect.Type
}

// dotted is the key as written in messages, e.g. "auth.session_ttl".
func (k configKey) dotted() string { return k.section + "." + k.name }

// field returns the struct field of c that k sets.
func (k configKey) field(c *Config) reflect.Value {
	return reflect.ValueOf(c).Elem().FieldByIndex(k.index)
}

var durationType = reflect.TypeFor[Duration]()

// configKeys lists every key of Config in declaration order.
var configKeys = sync.OnceValue(func() []configKey {
	var keys []configKey
	root := reflect.TypeFor[Config]()
	for i := range root.NumField() {
		sf := root.Field(i)
		section := tomlName(sf)
		for j := range sf.Type.NumField() {
			kf := sf.Type.Field(j)
			name := tomlName(kf)
			keys = append(keys, configKey{
				section: section,
				name:    name,
				env:     envPrefix + strings.ToUpper(section) + "_" + strings.ToUpper(name),
				index:   []int{i, j},
				typ:     kf.Type,
			})
		}
	}
	return keys
})

// tomlName is the name a field has in the TOML file.
func tomlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if name == "" {
		panic("config: field " + f.Name + " has no toml tag")
	}
	return name
}

// lookupKey finds a key by its dotted TOML name, ignoring case as go-toml
// does when it matches keys to fields.
func lookupKey(dotted string) (configKey, bool) {
	for _, k := range configKeys() {
		if strings.EqualFold(k.dotted(), dotted) {
			return k, true
		}
	}
	return configKey{}, false
}

// describeType says in words which values a field of type t accepts.
func describeType(t reflect.Type) string {
	if t == durationType {
		return `a duration in quotes, like "168h" or "30m"`
	}
	switch t.Kind() {
	case reflect.String:
		return "a string in quotes"
	case reflect.Slice:
		return `a list of strings, like ["a", "b"]`
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("a whole number from 0 to %d", uint64(1)<<t.Bits()-1)
	}
	return t.String()
}

// LoadConfig builds the configuration in three layers: the defaults, then
// the TOML file at path (skipped when path is ""; INVITED_CONFIG in environ
// names the file when path is ""), then INVITED_<SECTION>_<KEY> variables
// from environ (entries "NAME=VALUE"), which win over the file. Lists are
// comma separated in the environment.
//
// The result is validated. The warnings (unknown INVITED_ variables, which
// are ignored) are returned even when there is an error. Every error names
// the key or variable at fault, and for file errors the file and line.
func LoadConfig(path string, environ []string) (Config, []string, error) {
	env := parseEnviron(environ)
	if path == "" {
		path = env[envConfigPath].value
	}

	cfg := DefaultConfig()
	if path != "" {
		if err := loadFile(path, &cfg); err != nil {
			res := applyEnv(&Config{}, env) // only to report unknown variables
			return Config{}, res.warnings, err
		}
	}
	res := applyEnv(&cfg, env)
	if len(res.errs) > 0 {
		return Config{}, res.warnings, errors.Join(res.errs...)
	}
	cfg.normalize()
	if err := cfg.Validate(); err != nil {
		return Config{}, res.warnings, err
	}
	return cfg, res.warnings, nil
}

// normalize tidies values that have an obvious canonical form.
func (c *Config) normalize() {
	c.Server.BaseURL = strings.TrimRight(c.Server.BaseURL, "/")
	if c.Server.TrustedProxies == nil {
		c.Server.TrustedProxies = []string{}
	}
	if c.Auth.InitAdminAPITokens == nil {
		c.Auth.InitAdminAPITokens = []string{}
	}
	// A cookie domain is compared and sent in one form: lower case,
	// ASCII (punycode), without the leading dot old cookie syntax used.
	if d := strings.TrimPrefix(strings.TrimSpace(c.Auth.CookieDomain), "."); d != "" {
		if nd, err := db.NormalizeDomain("auth.cookie_domain", d); err == nil {
			c.Auth.CookieDomain = nd
		}
	}
}

// loadFile reads path over the values already in cfg.
func loadFile(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("config file %s cannot be read: %w", path, err)
	}
	if err := checkDurationsAreStrings(path, data); err != nil {
		return err
	}
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return explainDecodeError(path, data, err)
	}
	return nil
}

// explainDecodeError turns a go-toml error about the file data read from
// path into one that names the file, the line and the key, in terms of the
// config rather than Go types. The facts come from go-toml's typed errors
// (position and key) and from the file itself (what it holds at that key),
// never from the wording of go-toml's messages.
func explainDecodeError(path string, data []byte, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		headers := tableHeaders(data)
		errs := make([]error, 0, len(strict.Errors))
		for i := range strict.Errors {
			e := &strict.Errors[i]
			line, _ := e.Position()
			errs = append(errs, fmt.Errorf("%s:%d: %s", path, line, unknownKeyMessage(e.Key(), headers[strings.Join(e.Key(), ".")])))
		}
		return errors.Join(errs...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		key := strings.Join(de.Key(), ".")
		if key == "" {
			return fmt.Errorf("%s:%d:%d: the file is not valid TOML: %s", path, line, col, msg)
		}
		if k, ok := lookupKey(key); ok {
			if k.typ == durationType {
				// The message comes from Duration.UnmarshalText and already
				// says what is expected.
				return fmt.Errorf("%s:%d: %s: %s", path, line, key, msg)
			}
			if found, ok := describeFound(data, de.Key(), k.typ); ok {
				msg = found
			}
			return fmt.Errorf("%s:%d: %s: %s; expected %s", path, line, key, msg, describeType(k.typ))
		}
		if len(de.Key()) == 1 {
			return fmt.Errorf("%s:%d: %s must be a section, written [%s], holding its keys", path, line, key, key)
		}
		return fmt.Errorf("%s:%d: %s: %s", path, line, key, msg)
	}
	return fmt.Errorf("config file %s: %w", path, err)
}

// describeFound says what the file holds at key where a value of type want
// was expected: "found a TOML string", or "300 is out of range" for a
// whole number that does not fit. It is false when the file cannot be read
// as plain TOML data (a number too large for any integer, say); go-toml's
// own message is kept then.
func describeFound(data []byte, key toml.Key, want reflect.Type) (string, bool) {
	var doc map[string]any
	if toml.Unmarshal(data, &doc) != nil {
		return "", false
	}
	var v any = doc
	for _, k := range key {
		table, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		if v, ok = table[k]; !ok {
			return "", false
		}
	}
	// A list is refused for its first item of the wrong kind.
	if list, ok := v.([]any); ok && want.Kind() == reflect.Slice {
		for _, item := range list {
			if _, ok := item.(string); !ok {
				v = item
				break
			}
		}
	}
	switch v := v.(type) {
	case string:
		return "found a TOML string", true
	case int64:
		if k := want.Kind(); k >= reflect.Int && k <= reflect.Uint64 {
			return fmt.Sprintf("%d is out of range", v), true
		}
		return "found a TOML integer", true
	case float64:
		return "found a TOML float", true
	case bool:
		return "found a TOML boolean", true
	case []any:
		return "found a TOML array", true
	case map[string]any:
		return "found a TOML table", true
	case time.Time:
		return "found a TOML datetime", true
	case toml.LocalDate:
		return "found a TOML local date", true
	case toml.LocalTime:
		return "found a TOML local time", true
	case toml.LocalDateTime:
		return "found a TOML local datetime", true
	}
	return "", false
}

// tableHeaders lists the dotted names of the file's table headers ([auth],
// [[x.y]]), as written.
func tableHeaders(data []byte) map[string]bool {
	headers := map[string]bool{}
	var p unstable.Parser
	p.Reset(data)
	for p.NextExpression() {
		if e := p.Expression(); e.Kind == unstable.Table || e.Kind == unstable.ArrayTable {
			headers[strings.Join(keyParts(e.Key()), ".")] = true
		}
	}
	return headers
}

// unknownKeyMessage says which key or, when isTable (the file has a
// [key] header), which section of the file is unknown and, when one is
// close, which known one was probably meant.
func unknownKeyMessage(key toml.Key, isTable bool) string {
	dotted := strings.Join(key, ".")
	var msg string
	switch {
	case isTable:
		msg = fmt.Sprintf("unknown section [%s]", dotted)
	case len(key) == 1:
		msg = fmt.Sprintf("unknown key %s outside any section", dotted)
	default:
		msg = fmt.Sprintf("unknown key %s", dotted)
	}
	var candidates []string
	if len(key) == 1 || isTable {
		candidates = sectionNames()
	}
	if !isTable {
		for _, k := range configKeys() {
			candidates = append(candidates, k.dotted())
		}
	}
	if s := suggest(dotted, key[len(key)-1], candidates); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	return msg
}

// sectionNames lists the sections of Config.
func sectionNames() []string {
	var names []string
	for _, k := range configKeys() {
		if len(names) == 0 || names[len(names)-1] != k.section {
			names = append(names, k.section)
		}
	}
	return names
}

// checkDurationsAreStrings finds duration keys given a value that is not a
// string (session_ttl = 5, session_ttl = {}, [auth.session_ttl]). go-toml
// hands scalars to Duration.UnmarshalText without saying which key failed,
// and takes an empty table as no change at all, so such values are caught
// here first, with their line. Syntax errors are left to the decoder.
func checkDurationsAreStrings(path string, data []byte) error {
	var p unstable.Parser
	p.Reset(data)
	var table []string
	inArrayTable := false
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table, inArrayTable = keyParts(e.Key()), e.Kind == unstable.ArrayTable
			if k, ok := lookupKey(strings.Join(table, ".")); ok && k.typ == durationType {
				first := e.Key()
				first.Next()
				return fmt.Errorf("%s:%d: %s is a duration, not a table; write %s = \"168h\" under [%s]",
					path, p.Shape(first.Node().Raw).Start.Line, k.dotted(), k.name, k.section)
			}
		case unstable.KeyValue:
			if inArrayTable {
				continue
			}
			if err := checkKeyValue(&p, path, table, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkKeyValue checks one key/value expression (and the key/values of an
// inline table value) under the key path prefix.
func checkKeyValue(p *unstable.Parser, path string, prefix []string, kv *unstable.Node) error {
	full := append(append([]string{}, prefix...), keyParts(kv.Key())...)
	value := kv.Value()
	if k, ok := lookupKey(strings.Join(full, ".")); ok && k.typ == durationType {
		if value.Kind == unstable.String {
			return nil
		}
		var found string
		switch value.Kind {
		case unstable.InlineTable:
			found = "an inline table"
		case unstable.Array:
			found = "an array"
		default:
			found = string(bytes.TrimSpace(p.Raw(value.Raw)))
		}
		return fmt.Errorf("%s:%d: %s: %s is not a duration string; write it in quotes with a unit, like \"168h\" or \"30m\"",
			path, p.Shape(kv.Raw).Start.Line, k.dotted(), found)
	}
	if value.Kind == unstable.InlineTable {
		it := value.Children()
		for it.Next() {
			if child := it.Node(); child.Kind == unstable.KeyValue {
				if err := checkKeyValue(p, path, full, child); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// keyParts collects the parts of a (possibly dotted) key.
func keyParts(it unstable.Iterator) []string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
}

// envValue is one INVITED_ variable and its position in environ.
type envValue struct {
	value string
	order int
}

// parseEnviron keeps the INVITED_ entries of environ; a later entry for the
// same name wins, as with exec.Cmd.
func parseEnviron(environ []string) map[string]envValue {
	env := make(map[string]envValue)
	for i, entry := range environ {
		name, value, ok := strings.Cut(entry, "=")
		if !ok || !strings.HasPrefix(name, envPrefix) {
			continue
		}
		env[name] = envValue{value: value, order: i}
	}
	return env
}

// envResult collects what applying the environment produced.
type envResult struct {
	warnings []string
	errs     []error
}

// applyEnv sets the keys named by INVITED_ variables, in the order they
// appear in environ.
func applyEnv(cfg *Config, env map[string]envValue) envResult {
	names := make([]string, 0, len(env))
	for name := range env {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return env[names[i]].order < env[names[j]].order })

	byEnv := make(map[string]configKey, len(configKeys()))
	candidates := make([]string, 0, len(configKeys())+1)
	for _, k := range configKeys() {
		byEnv[k.env] = k
		candidates = append(candidates, k.env)
	}
	candidates = append(candidates, envConfigPath, envDebugListen)

	var res envResult
	for _, name := range names {
		if name == envConfigPath || name == envDebugListen {
			continue
		}
		k, ok := byEnv[name]
		if !ok {
			w := fmt.Sprintf("unknown environment variable %s is ignored", name)
			if s := suggest(name, strings.TrimPrefix(name, envPrefix), candidates); s != "" {
				w += fmt.Sprintf(" (did you mean %s?)", s)
			}
			res.warnings = append(res.warnings, w)
			continue
		}
		if err := setFromString(k.field(cfg), env[name].value); err != nil {
			res.errs = append(res.errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return res
}

// setFromString parses an environment value into a config field.
func setFromString(v reflect.Value, raw string) error {
	if v.Type() == durationType {
		d, err := parseDuration(strings.TrimSpace(raw))
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(Duration{d}))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Slice:
		v.Set(reflect.ValueOf(splitList(raw)))
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("%q is not true or false", raw)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s := strings.TrimSpace(raw)
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				lo := int64(-1) << (v.Type().Bits() - 1)
				return fmt.Errorf("%q is out of range; use %d to %d", raw, lo, -(lo + 1))
			}
			return fmt.Errorf("%q is not a whole number", raw)
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s := strings.TrimSpace(raw)
		n, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			_, signedErr := strconv.ParseInt(s, 10, 64)
			if errors.Is(err, strconv.ErrRange) || signedErr == nil || errors.Is(signedErr, strconv.ErrRange) {
				return fmt.Errorf("%q is out of range; use 0 to %d", raw, uint64(1)<<v.Type().Bits()-1)
			}
			return fmt.Errorf("%q is not a whole number", raw)
		}
		v.SetUint(n)
	default:
		return fmt.Errorf("cannot be set from the environment (%s)", v.Type())
	}
	return nil
}

// splitList splits a comma separated list, trimming spaces and dropping
// empty items.
func splitList(s string) []string {
	items := []string{}
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// suggest returns the candidate that name was most likely meant to be, or
// "". A candidate is close when it is a few edits away (one per four
// characters, at most three), or when it ends in lastPart (the right key in
// the wrong section).
func suggest(name, lastPart string, candidates []string) string {
	best, bestDist := "", min(3, max(1, len(name)/4))+1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(name), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best != "" {
		return best
	}
	lastPart = strings.ToLower(lastPart)
	if lastPart == "" {
		return ""
	}
	for _, c := range candidates {
		lc := strings.ToLower(c)
		if strings.HasSuffix(lc, "."+lastPart) || strings.HasSuffix(lc, "_"+lastPart) {
			return c
		}
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Validate checks every value. The error names each key at fault, what is
// wrong and what is allowed, one problem per line, e.g.
// "auth.min_password_score: 7 is out of range; use 0 to 4".
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf(key+": "+format, args...))
	}

	// [server]
	if host, port, err := net.SplitHostPort(c.Server.Listen); err != nil {
		bad("server.listen", "%q is not host:port (%v); use e.g. \"127.0.0.1:4242\" or \":4242\"", c.Server.Listen, errReason(err))
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad("server.listen", "port %q in %q is not a number from 0 to 65535", port, c.Server.Listen)
	} else if strings.ContainsAny(host, " /") {
		bad("server.listen", "host %q in %q is not a host name or IP address", host, c.Server.Listen)
	}
	if c.Server.SSHListen != "" {
		if host, port, err := net.SplitHostPort(c.Server.SSHListen); err != nil {
			bad("server.ssh_listen", "%q is not host:port (%v); use e.g. \":2222\", or leave it empty for no SSH server", c.Server.SSHListen, errReason(err))
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			bad("server.ssh_listen", "port %q in %q is not a number from 0 to 65535", port, c.Server.SSHListen)
		} else if strings.ContainsAny(host, " /") {
			bad("server.ssh_listen", "host %q in %q is not a host name or IP address", host, c.Server.SSHListen)
		}
	}
	if msg := checkBaseURL(c.Server.BaseURL); msg != "" {
		bad("server.base_url", "%q %s; use an absolute URL such as \"https://invite.example.com\"", c.Server.BaseURL, msg)
	}
	for _, p := range c.Server.TrustedProxies {
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				bad("server.trusted_proxies", "%q is not an IP address or CIDR range; use e.g. \"10.0.0.1\" or \"10.0.0.0/8\"", p)
			}
		}
	}

	if (c.Server.TLSCert == "") != (c.Server.TLSKey == "") {
		bad("server.tls_cert", "and server.tls_key go together: set both (PEM files) for HTTPS, or neither")
	}
	for key, file := range map[string]string{"server.tls_cert": c.Server.TLSCert, "server.tls_key": c.Server.TLSKey} {
		if file == "" {
			continue
		}
		if _, err := os.Stat(file); err != nil {
			bad(key, "%q cannot be read (%v)", file, errReason(err))
		}
	}

	// [storage]
	if strings.TrimSpace(c.Storage.DataDir) == "" {
		bad("storage.data_dir", "is empty; set a directory such as \"./data\"")
	}

	// [auth]
	a := c.Auth
	for i, tok := range a.InitAdminAPITokens {
		if strings.TrimSpace(tok) == "" {
			bad("auth.init_admin_api_tokens", "item %d is empty; remove it or give a key", i+1)
		}
	}
	if a.Argon2Parallelism < 1 {
		bad("auth.argon2_parallelism", "%d is too small; use 1 to 255", a.Argon2Parallelism)
	}
	minMem := 8 * uint64(max(a.Argon2Parallelism, 1))
	if uint64(a.Argon2MemoryKiB) < minMem {
		bad("auth.argon2_memory_kib", "%d is too small for argon2_parallelism %d; use %d to %d (at least 8 KiB per thread, at most 4 GiB)",
			a.Argon2MemoryKiB, a.Argon2Parallelism, minMem, maxArgon2MemoryKiB)
	} else if a.Argon2MemoryKiB > maxArgon2MemoryKiB {
		bad("auth.argon2_memory_kib", "%d is too large; use %d to %d (at most 4 GiB)", a.Argon2MemoryKiB, minMem, maxArgon2MemoryKiB)
	}
	if a.Argon2Iterations < 1 {
		bad("auth.argon2_iterations", "%d is too small; use 1 or more", a.Argon2Iterations)
	}
	if a.MaxConcurrentHashes < 1 {
		bad("auth.max_concurrent_hashes", "%d is too small; use 1 or more", a.MaxConcurrentHashes)
	}
	if a.MinPasswordLength < 1 || a.MinPasswordLength > 1024 {
		bad("auth.min_password_length", "%d is out of range; use 1 to 1024", a.MinPasswordLength)
	}
	if a.MinPasswordScore < 0 || a.MinPasswordScore > 4 {
		bad("auth.min_password_score", "%d is out of range; use 0 to 4 (0 turns the check off)", a.MinPasswordScore)
	}
	if a.MaxLoginAttempts < 1 {
		bad("auth.max_login_attempts", "%d is too small; use 1 or more", a.MaxLoginAttempts)
	}
	if a.LockoutMax.Duration <= 0 {
		bad("auth.lockout_max", "%s is not positive; use a duration such as \"15m\"", formatDuration(a.LockoutMax.Duration))
	}
	if a.SessionTTL.Duration <= 0 {
		bad("auth.session_ttl", "%s is not positive; use a duration such as \"168h\"", formatDuration(a.SessionTTL.Duration))
	}
	for _, name := range a.RequireSecondFactor {
		if _, ok := db.ParseRole(name); !ok {
			bad("auth.require_second_factor", "%q is not a role; use a list of Admin, Editor and Viewer, such as [\"Admin\"]", name)
		}
	}
	if msg := checkCookieDomain(a.CookieDomain, c.Server.BaseURL); msg != "" {
		bad("auth.cookie_domain", "%s", msg)
	}
	if _, err := db.ParseVerifyEmailMode(a.VerifyEmail); err != nil {
		bad("auth.verify_email", "%q is not known; use \"domains\" (links with allowedDomains), \"always\" (every signup link) or \"never\"", a.VerifyEmail)
	}

	// [invitations]
	if c.Invitations.DefaultTTL.Duration <= 0 {
		bad("invitations.default_ttl", "%s is not positive; use a duration such as \"168h\"", formatDuration(c.Invitations.DefaultTTL.Duration))
	}

	// [webhooks]
	if c.Webhooks.RetryDelay.Duration <= 0 {
		bad("webhooks.retry_delay", "%s must be positive, e.g. \"10s\"", formatDuration(c.Webhooks.RetryDelay.Duration))
	}
	if c.Webhooks.MaxAttempts < 1 || c.Webhooks.MaxAttempts > 100 {
		bad("webhooks.max_attempts", "%d is out of range; use 1 to 100", c.Webhooks.MaxAttempts)
	}

	// [mail]
	m := c.Mail
	switch m.Driver {
	case "log", "smtp":
	default:
		bad("mail.driver", "%q is not a mail driver; use \"log\" or \"smtp\"", m.Driver)
	}
	switch m.TLS {
	case "starttls", "tls", "none":
	default:
		bad("mail.tls", "%q is not a TLS mode; use \"starttls\", \"tls\" or \"none\"", m.TLS)
	}
	if m.Port < 1 || m.Port > 65535 {
		bad("mail.port", "%d is out of range; use 1 to 65535", m.Port)
	}
	if m.RetryDelay.Duration <= 0 {
		bad("mail.retry_delay", "%s must be positive, e.g. \"10s\"", m.RetryDelay.Duration)
	}
	if m.MaxAttempts < 1 || m.MaxAttempts > 100 {
		bad("mail.max_attempts", "%d is out of range; use 1 to 100", m.MaxAttempts)
	}
	if m.Driver == "smtp" {
		if strings.TrimSpace(m.Host) == "" {
			bad("mail.host", "is empty but mail.driver is \"smtp\"; set the SMTP server name")
		}
		if strings.TrimSpace(m.From) == "" {
			bad("mail.from", "is empty but mail.driver is \"smtp\"; set the sender, e.g. \"Invited <invited@example.com>\"")
		}
	}
	if m.From != "" {
		if _, err := mail.ParseAddress(m.From); err != nil {
			bad("mail.from", "%q is not an email address (%v); use e.g. \"invited@example.com\" or \"Invited <invited@example.com>\"", m.From, err)
		}
	}

	// [limits]
	if c.Limits.AuthPerMinute < 0 {
		bad("limits.auth_per_minute", "%d is negative; use 0 (off) or more", c.Limits.AuthPerMinute)
	}
	if c.Limits.PublicPerMinute < 0 {
		bad("limits.public_per_minute", "%d is negative; use 0 (off) or more", c.Limits.PublicPerMinute)
	}

	// [retention]
	if c.Retention.Events.Duration < 0 {
		bad("retention.events", "%s is negative; use a duration such as \"8760h\" (a year), or 0 to keep events for ever", formatDuration(c.Retention.Events.Duration))
	}
	if c.Retention.Emails.Duration < 0 {
		bad("retention.emails", "%s is negative; use a duration such as \"720h\" (30 days), or 0 to keep sent emails for ever", formatDuration(c.Retention.Emails.Duration))
	}

	// [site]
	if strings.TrimSpace(c.Site.Name) == "" {
		bad("site.name", "is empty; set the name shown in pages and emails")
	} else if strings.IndexFunc(c.Site.Name, unicode.IsControl) >= 0 {
		bad("site.name", "%q contains control characters; use printable text only", c.Site.Name)
	}

	// [log]
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "%q is not a log format; use \"text\" or \"json\"", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not a log level; use \"debug\", \"info\", \"warn\" or \"error\"", c.Log.Level)
	}

	return errors.Join(errs...)
}

// checkBaseURL says what is wrong with a base URL, or "" when it is usable.
func checkBaseURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case s == "":
		return "is empty"
	case err != nil:
		return "is not a URL (" + errReason(err) + ")"
	case u.Scheme != "http" && u.Scheme != "https":
		return "does not start with http:// or https://"
	case u.Host == "" || u.Hostname() == "":
		return "has no host"
	case u.User != nil:
		return "must not contain a user name or password"
	case u.RawQuery != "" || u.ForceQuery:
		return "must not have a query (?...)"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "must not have a fragment (#...)"
	}
	return ""
}

// errReason is the innermost message of a net or url error.
func errReason(err error) string {
	var ae *net.AddrError
	if errors.As(err, &ae) {
		return ae.Err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// checkCookieDomain says what is wrong with auth.cookie_domain d (already
// normalised), or "": it must be a domain name, and server.base_url's host
// must be inside it (equal to it or a subdomain of it), or the browser
// would refuse the cookie, and logins would silently fail.
func checkCookieDomain(d, baseURL string) string {
	if d == "" {
		return ""
	}
	nd, err := db.NormalizeDomain("auth.cookie_domain", d)
	if err != nil || nd != d {
		return fmt.Sprintf("%q is not a domain name; give one such as \"example.com\", or \"\" for server.base_url's host only", d)
	}
	u, err := url.Parse(baseURL)
	if err != nil {
		return "" // server.base_url reports its own error
	}
	host, err := db.NormalizeDomain("server.base_url", u.Hostname())
	if err != nil {
		host = strings.ToLower(u.Hostname())
	}
	if host != d && !strings.HasSuffix(host, "."+d) {
		return fmt.Sprintf("%q does not hold server.base_url's host %q, so browsers would refuse the login cookie; use %q or a parent domain of it, or \"\"", d, u.Hostname(), u.Hostname())
	}
	return ""
}
