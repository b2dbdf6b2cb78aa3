package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"
)

// softAuthenticator is a WebAuthn authenticator in the test: a P-256 key
// per credential, "none" attestation, and the client data a browser at
// origin would write. It lets the server tests run whole ceremonies
// against the real handlers (the Chromium test uses a real browser's
// virtual authenticator instead).
type softAuthenticator struct {
	origin, rpID string
	key          *ecdsa.PrivateKey
	credID       []byte
	userHandle   []byte
	count        uint32
}

var b64 = base64.RawURLEncoding

func newSoftAuthenticator(t testing.TB, origin, rpID string) *softAuthenticator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &softAuthenticator{origin: origin, rpID: rpID, key: key, credID: id}
}

// A few CBOR heads, enough for a COSE key and an attestation object.
func cborHead(major byte, n int) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n < 256:
		return []byte{major<<5 | 24, byte(n)}
	default:
		return []byte{major<<5 | 25, byte(n >> 8), byte(n)}
	}
}

func cborText(s string) []byte  { return append(cborHead(3, len(s)), s...) }
func cborBytes(b []byte) []byte { return append(cborHead(2, len(b)), b...) }

func (a *softAuthenticator) coseKey() []byte {
	x, y := make([]byte, 32), make([]byte, 32)
	pub, err := a.key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	copy(x, pub[1:33])
	copy(y, pub[33:65])
	out := []byte{0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01} // kty EC2, alg ES256, crv P-256
	out = append(append(out, 0x21), cborBytes(x)...)
	return append(append(out, 0x22), cborBytes(y)...)
}

func (a *softAuthenticator) authData(flags byte, attested bool) []byte {
	rp := sha256.Sum256([]byte(a.rpID))
	out := append(rp[:], flags)
	out = binary.BigEndian.AppendUint32(out, a.count)
	if attested {
		out = append(out, make([]byte, 16)...) // AAGUID
		out = binary.BigEndian.AppendUint16(out, uint16(len(a.credID)))
		out = append(out, a.credID...)
		out = append(out, a.coseKey()...)
	}
	return out
}

func (a *softAuthenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.origin, "crossOrigin": false})
	return b
}

// options reads the challenge (and the user handle of a registration)
// of a begin answer.
func passkeyOptions(t testing.TB, begun map[string]any) (ceremony, challenge string, userID []byte) {
	t.Helper()
	pk, _ := begun["publicKey"].(map[string]any)
	ceremony, _ = begun["ceremony"].(string)
	challenge, _ = pk["challenge"].(string)
	if ceremony == "" || challenge == "" {
		t.Fatalf("a begin answer without ceremony or challenge: %v", begun)
	}
	if u, ok := pk["user"].(map[string]any); ok {
		id, _ := u["id"].(string)
		raw, err := b64.DecodeString(id)
		if err != nil {
			t.Fatalf("user.id %q is not base64url: %v", id, err)
		}
		userID = raw
	}
	return ceremony, challenge, userID
}

// create answers a registration's challenge as navigator.credentials.create
// would, and keeps the user handle for later logins.
func (a *softAuthenticator) create(challenge string, userHandle []byte) json.RawMessage {
	a.userHandle = userHandle
	att := []byte{0xa3}
	att = append(att, cborText("fmt")...)
	att = append(att, cborText("none")...)
	att = append(att, cborText("attStmt")...)
	att = append(att, 0xa0)
	att = append(att, cborText("authData")...)
	att = append(att, cborBytes(a.authData(0x45, true))...) // UP, UV, AT
	b, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults": map[string]any{},
	})
	return b
}

// get answers a login's challenge as navigator.credentials.get would,
// with the counter one higher.
func (a *softAuthenticator) get(challenge string) json.RawMessage {
	a.count++
	return a.sign(challenge, a.userHandle)
}

// sign makes an assertion for challenge naming userHandle, at the current
// counter.
func (a *softAuthenticator) sign(challenge string, userHandle []byte) json.RawMessage {
	ad := a.authData(0x05, false) // UP, UV
	cd := a.clientData("webauthn.get", challenge)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte(nil), ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, digest[:])
	if err != nil {
		panic(err)
	}
	b, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(userHandle),
		},
		"clientExtensionResults": map[string]any{},
	})
	return b
}

// finishBody is the JSON body of a finish step.
func finishBody(ceremony string, credential json.RawMessage) string {
	b, _ := json.Marshal(map[string]any{"ceremony": ceremony, "credential": credential})
	return string(b)
}
