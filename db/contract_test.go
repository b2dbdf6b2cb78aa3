package db

import (
	"encoding"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The HTTP contract lives on the HTTP side (issue 11): db holds the domain
// and its storage, the server builds the API's JSON and every URL. These
// tests keep it so.

// exportedTypes lists every exported type of the package, so that the
// checks below reach each one; TestExportedTypesListed fails when a new
// type is missing here.
var exportedTypes = map[string]reflect.Type{
	"Accounts":           reflect.TypeFor[Accounts](),
	"SSHKey":             reflect.TypeFor[SSHKey](),
	"Joined":             reflect.TypeFor[Joined](),
	"TokenPurpose":       reflect.TypeFor[TokenPurpose](),
	"UserToken":          reflect.TypeFor[UserToken](),
	"VerifyEmailMode":    reflect.TypeFor[VerifyEmailMode](),
	"NewAccount":         reflect.TypeFor[NewAccount](),
	"PasswordChange":     reflect.TypeFor[PasswordChange](),
	"APIKey":             reflect.TypeFor[APIKey](),
	"Actor":              reflect.TypeFor[Actor](),
	"Code":               reflect.TypeFor[Code](),
	"Email":              reflect.TypeFor[Email](),
	"Error":              reflect.TypeFor[Error](),
	"Event":              reflect.TypeFor[Event](),
	"FieldError":         reflect.TypeFor[FieldError](),
	"HashParams":         reflect.TypeFor[HashParams](),
	"Hasher":             reflect.TypeFor[Hasher](),
	"Group":              reflect.TypeFor[Group](),
	"NewGroup":           reflect.TypeFor[NewGroup](),
	"GroupUpdate":        reflect.TypeFor[GroupUpdate](),
	"App":                reflect.TypeFor[App](),
	"AppOIDC":            reflect.TypeFor[AppOIDC](),
	"NewApp":             reflect.TypeFor[NewApp](),
	"AppUpdate":          reflect.TypeFor[AppUpdate](),
	"OIDCAuthRequest":    reflect.TypeFor[OIDCAuthRequest](),
	"OIDCRefreshGrant":   reflect.TypeFor[OIDCRefreshGrant](),
	"Invitation":         reflect.TypeFor[Invitation](),
	"Label":              reflect.TypeFor[Label](),
	"LoginResult":        reflect.TypeFor[LoginResult](),
	"MigrationReport":    reflect.TypeFor[MigrationReport](),
	"NewInvitation":      reflect.TypeFor[NewInvitation](),
	"BatchRow":           reflect.TypeFor[BatchRow](),
	"NewInvitationBatch": reflect.TypeFor[NewInvitationBatch](),
	"BatchResult":        reflect.TypeFor[BatchResult](),
	"NewSignupToken":     reflect.TypeFor[NewSignupToken](),
	"NewUser":            reflect.TypeFor[NewUser](),
	"Options":            reflect.TypeFor[Options](),
	"Organization":       reflect.TypeFor[Organization](),
	"OutboxEmail":        reflect.TypeFor[OutboxEmail](),
	"SentEmail":          reflect.TypeFor[SentEmail](),
	"PasswordCheck":      reflect.TypeFor[PasswordCheck](),
	"Passkey":            reflect.TypeFor[Passkey](),
	"PasskeyUse":         reflect.TypeFor[PasskeyUse](),
	"Retention":          reflect.TypeFor[Retention](),
	"PruneCounts":        reflect.TypeFor[PruneCounts](),
	"PasswordPolicy":     reflect.TypeFor[PasswordPolicy](),
	"Role":               reflect.TypeFor[Role](),
	"SigningKey":         reflect.TypeFor[SigningKey](),
	"SignupToken":        reflect.TypeFor[SignupToken](),
	"SignupTokenUpdate":  reflect.TypeFor[SignupTokenUpdate](),
	"Store":              reflect.TypeFor[Store](),
	"Throttle":           reflect.TypeFor[Throttle](),
	"User":               reflect.TypeFor[User](),
	"UserInput":          reflect.TypeFor[UserInput](),
	"UserUpdate":         reflect.TypeFor[UserUpdate](),
	// The second factor.
	"SecondFactorPending": reflect.TypeFor[SecondFactorPending](),
	"SecondFactorState":   reflect.TypeFor[SecondFactorState](),
	"TOTPSetup":           reflect.TypeFor[TOTPSetup](),
	// Webhooks.
	"Webhook":         reflect.TypeFor[Webhook](),
	"NewWebhook":      reflect.TypeFor[NewWebhook](),
	"WebhookAttempt":  reflect.TypeFor[WebhookAttempt](),
	"WebhookDelivery": reflect.TypeFor[WebhookDelivery](),
}

// parseSource parses the package's non-test Go files.
func parseSource(tb testing.TB) (*token.FileSet, []*ast.File) {
	tb.Helper()
	paths, err := filepath.Glob("*.go")
	if err != nil {
		tb.Fatal(err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		tb.Fatal("no source files found")
	}
	return fset, files
}

func TestExportedTypesListed(t *testing.T) {
	_, files := parseSource(t)
	for _, f := range files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, spec := range g.Specs {
				name := spec.(*ast.TypeSpec).Name.Name
				if ast.IsExported(name) && exportedTypes[name] == nil {
					t.Errorf("db.%s is not in exportedTypes: add it, so that the contract checks cover it", name)
				}
			}
		}
	}
}

// TestNoAPIShapesInDB: no db type decides its own JSON (or text) form; the
// server's response types do. A value or pointer method counts, and so
// does one promoted from an embedded field.
func TestNoAPIShapesInDB(t *testing.T) {
	ifaces := map[string]reflect.Type{
		"json.Marshaler":           reflect.TypeFor[json.Marshaler](),
		"json.Unmarshaler":         reflect.TypeFor[json.Unmarshaler](),
		"encoding.TextMarshaler":   reflect.TypeFor[encoding.TextMarshaler](),
		"encoding.TextUnmarshaler": reflect.TypeFor[encoding.TextUnmarshaler](),
	}
	for name, typ := range exportedTypes {
		for iname, iface := range ifaces {
			if typ.Implements(iface) || reflect.PointerTo(typ).Implements(iface) {
				t.Errorf("db.%s implements %s: build the API's shape in the server (a response type and a newXResponse func), not in db", name, iname)
			}
		}
	}
}

// TestNoURLsInDB: db's source holds no route of the HTTP API and no URL
// in any string: links are built by package weburl from server.base_url,
// and messages speak of the domain, not of routes.
func TestNoURLsInDB(t *testing.T) {
	banned := []string{"/api/", "/v1/", "/auth/", "http://", "https://"}
	fset, files := parseSource(t)
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				s = lit.Value
			}
			for _, b := range banned {
				if strings.Contains(s, b) {
					t.Errorf("%s: the string %s holds %q: URLs and routes belong to the server (package weburl for links)", fset.Position(lit.Pos()), lit.Value, b)
				}
			}
			return true
		})
	}
}

// storedTypes are exported types that stored records embed: their json
// tags are the file's format, not the API's.
var storedTypes = map[string]bool{"Label": true}

// TestNoJSONTagsInDB: no exported db type names its fields for the API;
// the server's response types do. (A db value written as an answer by
// mistake then shows Go's field names, which the OpenAPI checks refuse.)
func TestNoJSONTagsInDB(t *testing.T) {
	for name, typ := range exportedTypes {
		if typ.Kind() != reflect.Struct || storedTypes[name] {
			continue
		}
		for i := 0; i < typ.NumField(); i++ {
			if f := typ.Field(i); f.IsExported() && f.Tag.Get("json") != "" {
				t.Errorf("db.%s.%s has the json tag %q: the API's names belong to a response type in the server", name, f.Name, f.Tag.Get("json"))
			}
		}
	}
}
