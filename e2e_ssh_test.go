package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"invited/internal/testutil"
)

var (
	sshAddrRE = regexp.MustCompile(`msg="ssh admin TUI" addr=(\S+)`)
	sshFPRE   = regexp.MustCompile(`host_key_fingerprint=(SHA256:\S+)`)
	// ansiRE matches the escape sequences of a terminal stream, so that
	// what is left is the text the TUI drew.
	ansiRE = regexp.MustCompile(`\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78M])`)
)

// startSSHServer runs `invited serve` with the SSH server on a loopback
// port and returns it with the SSH address and the host key fingerprint
// it logged.
func startSSHServer(t *testing.T, dir string) (p *proc, addr, fingerprint string) {
	t.Helper()
	p = startServer(t, dir, "INVITED_SERVER_SSH_LISTEN=127.0.0.1:0")
	testutil.Eventually(t, 10*time.Second, "the SSH server to log its address", func() error {
		log := p.log.String()
		m, f := sshAddrRE.FindStringSubmatch(log), sshFPRE.FindStringSubmatch(log)
		if m == nil || f == nil {
			return errors.New("no ssh line in the log yet")
		}
		addr, fingerprint = m[1], f[1]
		return nil
	})
	info, err := os.Stat(filepath.Join(dir, "ssh_host_ed25519_key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the host key file: %v, mode %v; want it in the data directory with mode 0600", err, info)
	}
	return p, addr, fingerprint
}

// sshPrivateKeys maps the signers newSSHKey made to their private keys,
// for a test that writes one to a file.
var sshPrivateKeys sync.Map

// newSSHKey makes a key pair: the signer, and the public half as an
// authorized_keys line.
func newSSHKey(t *testing.T, comment string) (ssh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	sshPrivateKeys.Store(signer, priv)
	return signer, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " " + comment
}

// member signs someone up through a link of role and returns their id.
func member(t *testing.T, p *proc, email, username, role string) string {
	t.Helper()
	link := createLink(t, p, map[string]any{"name": "for " + username, "expiresAt": e2eFuture, "role": role})
	status, _, body := do(t, "POST", signupURL(p, link["secret"].(string)), "", signupJSON(email, username, username))
	wantStatus(t, "signup of "+username, status, 200, body)
	return userIDOf(t, body)
}

// addSSHKey registers line to user id through the API as auth.
func addSSHKey(t *testing.T, p *proc, auth, id, name, line string) map[string]any {
	t.Helper()
	status, _, body := do(t, "POST", p.URL+"/api/admin/user-admin/"+id+"/ssh-keys", auth, map[string]any{"name": name, "key": line})
	wantStatus(t, "add SSH key "+name, status, http.StatusCreated, body)
	return object(t, "ssh key", body)
}

// dialSSH connects as user with auth methods, checking the host key
// against the fingerprint the server logged.
func dialSSH(addr, fingerprint, user string, methods ...ssh.AuthMethod) (*ssh.Client, error) {
	return ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User: user,
		Auth: methods,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if got := ssh.FingerprintSHA256(key); got != fingerprint {
				return fmt.Errorf("host key %s, but the server logged %s", got, fingerprint)
			}
			return nil
		},
		Timeout: 10 * time.Second,
	})
}

// termStream collects what a session writes, for a test to read as text.
type termStream struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *termStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// text is everything written so far with the escape sequences taken out.
func (s *termStream) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ansiRE.ReplaceAllString(s.buf.String(), "")
}

// waitText polls (bounded) until the stream holds every text.
func (s *termStream) waitText(t *testing.T, what string, timeout time.Duration, texts ...string) {
	t.Helper()
	testutil.Eventually(t, timeout, what, func() error {
		got := s.text()
		for _, text := range texts {
			if !strings.Contains(got, text) {
				if len(got) > 3000 {
					got = got[len(got)-3000:]
				}
				return fmt.Errorf("no %q yet; the end of the stream:\n%s", text, got)
			}
		}
		return nil
	})
}

// TestE2ESSHTUI opens the admin TUI over SSH with golang.org/x/crypto/ssh:
// a key registered through the API opens it, it shows a link made through
// the API, a link made by keystrokes is served by the API and audited as
// ssh:<username>, and SIGTERM ends the session politely and in time.
func TestE2ESSHTUI(t *testing.T) {
	t.Parallel()
	p, addr, fingerprint := startSSHServer(t, t.TempDir())
	adaID := member(t, p, "ada@example.com", "ada", "Admin")
	signer, line := newSSHKey(t, "ada@laptop")
	key := addSSHKey(t, p, e2eAdminKey, adaID, "", line)
	wantField(t, "key", key, "name", "ada@laptop")
	wantField(t, "key", key, "fingerprint", ssh.FingerprintSHA256(signer.PublicKey()))
	createLink(t, p, map[string]any{"name": "Made by the API", "expiresAt": e2eFuture})

	tuiSess := openSSHTUI(t, addr, fingerprint, signer, 24, 80)
	sess, stdin, out := tuiSess.sess, tuiSess.stdin, tuiSess.out
	out.waitText(t, "the links tab with the API's link", 15*time.Second, "Signup links", "Made by the API")

	// A resize is taken: the TUI draws again at the new size.
	if err := sess.WindowChange(30, 100); err != nil {
		t.Fatal(err)
	}
	// Create a link by keystrokes: n, the name, ctrl+s.
	if _, err := io.WriteString(stdin, "n"); err != nil {
		t.Fatal(err)
	}
	out.waitText(t, "the link form", 5*time.Second, "New signup link")
	if _, err := io.WriteString(stdin, "Typed over SSH"); err != nil {
		t.Fatal(err)
	}
	out.waitText(t, "the name typed", 5*time.Second, "Typed over SSH")
	if _, err := io.WriteString(stdin, "\x13"); err != nil { // ctrl+s
		t.Fatal(err)
	}
	out.waitText(t, "the link created", 10*time.Second, "Created the signup link")
	found := false
	for _, l := range listLinks(t, p) {
		if l.(map[string]any)["name"] == "Typed over SSH" {
			found = true
		}
	}
	if !found {
		t.Fatal("the API does not list the link made over SSH")
	}
	status, _, body := do(t, "GET", p.URL+"/api/admin/events?type=signup-link-created", e2eAdminKey, nil)
	wantStatus(t, "events", status, 200, body)
	if !strings.Contains(string(body), `"createdBy":"ssh:ada"`) {
		t.Errorf("the link's audit event does not name ssh:ada: %s", body)
	}

	// SIGTERM: the session is told and ends, and the server exits cleanly.
	ended := make(chan error, 1)
	go func() { ended <- sess.Wait() }()
	p.Stop()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the SSH session did not end within 10s of SIGTERM")
	}
	out.waitText(t, "the farewell", time.Second, "invited is shutting down")
	if err := p.ExitErr(); err != nil {
		t.Fatalf("invited serve after SIGTERM with an SSH session open: %v", err)
	}
}

// TestE2ESSHRefusals: an unknown key, a Viewer's (a key added while its
// user was an Editor), a disabled user's, a password, and a session
// without a terminal all get no TUI.
func TestE2ESSHRefusals(t *testing.T) {
	t.Parallel()
	p, addr, fingerprint := startSSHServer(t, t.TempDir())
	edID := member(t, p, "ed@example.com", "ed", "Editor")
	edSigner, edLine := newSSHKey(t, "ed@desk")
	addSSHKey(t, p, e2eAdminKey, edID, "desk", edLine)

	unknown, _ := newSSHKey(t, "nobody")
	if c, err := dialSSH(addr, fingerprint, "ed", ssh.PublicKeys(unknown)); err == nil {
		c.Close()
		t.Fatal("an unknown key was let in")
	}
	if c, err := dialSSH(addr, fingerprint, "ed", ssh.Password(e2ePassword)); err == nil {
		c.Close()
		t.Fatal("a password was let in")
	}
	// Without a pty: a refusal in words and a failing exit status.
	c, err := dialSSH(addr, fingerprint, "ed", ssh.PublicKeys(edSigner))
	if err != nil {
		t.Fatalf("Ed's key (an Editor's): %v", err)
	}
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	got, err := sess.CombinedOutput("ls")
	if err == nil || !strings.Contains(string(got), "needs a terminal") {
		t.Errorf("a command without a pty: %v, %q; want a refusal that says a terminal is needed", err, got)
	}

	c.Close()

	// With a terminal, an Editor's TUI shows links but refuses the Users
	// tab as the API refuses it.
	edTUI := openSSHTUI(t, addr, fingerprint, edSigner, 24, 80)
	stdin, out := edTUI.stdin, edTUI.out
	out.waitText(t, "an Editor's TUI", 15*time.Second, "Signup links")
	if _, err := io.WriteString(stdin, "3"); err != nil {
		t.Fatal(err)
	}
	out.waitText(t, "an Editor refused the users", 5*time.Second, "Editors manage signup links and invitations only")
	if strings.Contains(out.text(), "ada@example.com") || strings.Contains(out.text(), "ed@example.com  ") {
		t.Error("an Editor's TUI listed users")
	}
	if _, err := io.WriteString(stdin, "q"); err != nil {
		t.Fatal(err)
	}
	if err := edTUI.sess.Wait(); err != nil {
		t.Errorf("the session after q: %v", err)
	}
	edTUI.client.Close()

	// A Viewer now: the stored key opens nothing.
	status, _, body := do(t, "PUT", p.URL+"/api/admin/user-admin/"+edID, e2eAdminKey, map[string]any{"rootRole": "Viewer"})
	wantStatus(t, "demote Ed", status, 200, body)
	if c, err := dialSSH(addr, fingerprint, "ed", ssh.PublicKeys(edSigner)); err == nil {
		c.Close()
		t.Fatal("a Viewer's key was let in")
	}
	status, _, body = do(t, "POST", p.URL+"/api/admin/user-admin/"+edID+"/ssh-keys", e2eAdminKey, map[string]any{"key": edLine + "x"})
	if status != 400 {
		t.Fatalf("a key for a Viewer: %d %s", status, body)
	}
	// An Editor again, but disabled: refused too.
	status, _, body = do(t, "PUT", p.URL+"/api/admin/user-admin/"+edID, e2eAdminKey, map[string]any{"rootRole": "Editor"})
	wantStatus(t, "promote Ed", status, 200, body)
	status, _, body = do(t, "POST", p.URL+"/api/admin/user-admin/"+edID+"/disable", e2eAdminKey, nil)
	wantStatus(t, "disable Ed", status, 200, body)
	if c, err := dialSSH(addr, fingerprint, "ed", ssh.PublicKeys(edSigner)); err == nil {
		c.Close()
		t.Fatal("a disabled user's key was let in")
	}
	// The log reaches the test through a pipe: poll it.
	testutil.Eventually(t, 5*time.Second, "refused keys to be logged", func() error {
		if !strings.Contains(p.log.String(), "ssh key refused") {
			return errors.New("no \"ssh key refused\" line yet")
		}
		return nil
	})
}

// TestE2ESSHSystemClient opens the TUI with the system's `ssh` inside
// tmux, checking the host key against a known_hosts file made from the key
// in the data directory, and makes a link by keystrokes.
func TestE2ESSHSystemClient(t *testing.T) {
	t.Parallel()
	sshPath, err := exec.LookPath("ssh")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ssh is not installed; install it with `apt-get install -y openssh-client` (.ci/run does)")
		}
		t.Skip("ssh is not installed")
	}
	dir := t.TempDir()
	p, addr, _ := startSSHServer(t, dir)
	adaID := member(t, p, "ada@example.com", "ada", "Admin")
	signer, line := newSSHKey(t, "ada@tmux")
	addSSHKey(t, p, e2eAdminKey, adaID, "tmux", line)
	createLink(t, p, map[string]any{"name": "Seen through ssh", "expiresAt": e2eFuture})

	// The client's files: its private key and the host's public key.
	clientDir := t.TempDir()
	keyFile := filepath.Join(clientDir, "id_ed25519")
	block, err := ssh.MarshalPrivateKey(signerKey(t, signer), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	hostRaw, err := os.ReadFile(filepath.Join(dir, "ssh_host_ed25519_key"))
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := ssh.ParsePrivateKey(hostRaw)
	if err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	knownHosts := filepath.Join(clientDir, "known_hosts")
	known := fmt.Sprintf("[%s]:%s %s", host, port, ssh.MarshalAuthorizedKey(hostSigner.PublicKey()))
	if err := os.WriteFile(knownHosts, []byte(known), 0o600); err != nil {
		t.Fatal(err)
	}
	command := fmt.Sprintf("env TERM=xterm-256color %s -t -p %s -i %s -F /dev/null -o IdentitiesOnly=yes -o PasswordAuthentication=no "+
		"-o KbdInteractiveAuthentication=no -o StrictHostKeyChecking=yes -o UserKnownHostsFile=%s -o GlobalKnownHostsFile=/dev/null ada@%s",
		sshPath, port, keyFile, knownHosts, host)
	tm := newTmux(t, command)
	tm.waitFor("the TUI over ssh", 15*time.Second, "Signup links", "Seen through ssh", "server: over SSH as ada")

	// A wider window reaches the server as a window change, and the TUI
	// draws its header across the new width.
	tm.run("resize-window", "-t", tm.target, "-x", "110", "-y", "30")
	testutil.Eventually(t, 10*time.Second, "the TUI to redraw at 110 columns", func() error {
		screen := tm.screen()
		first, _, _ := strings.Cut(screen, "\n")
		if n := len([]rune(strings.TrimRight(first, " "))); n <= 80 {
			return fmt.Errorf("the header is %d columns wide:\n%s", n, screen)
		}
		return nil
	})

	tm.keys(false, "n")
	tm.waitFor("link form", 5*time.Second, "New signup link")
	tm.keys(true, "Typed in tmux")
	tm.keys(false, "C-s")
	tm.waitFor("link created", 10*time.Second, "Created the signup link")
	tm.waitRow("the new link's row", 5*time.Second, linkRow("Typed in tmux", 0))
	found := false
	for _, l := range listLinks(t, p) {
		if l.(map[string]any)["name"] == "Typed in tmux" {
			found = true
		}
	}
	if !found {
		t.Fatal("the API does not list the link made through the system ssh")
	}
	// q quits the TUI, which ends the session and the ssh client.
	tm.keys(false, "q")
	tm.waitExit()
}

// signerKey is the private key behind a signer made by newSSHKey.
func signerKey(t *testing.T, s ssh.Signer) ed25519.PrivateKey {
	t.Helper()
	k, ok := sshPrivateKeys.Load(s)
	if !ok {
		t.Fatal("the signer was not made by newSSHKey")
	}
	return k.(ed25519.PrivateKey)
}

// sshTUI is one admin's TUI session over x/crypto/ssh.
type sshTUI struct {
	client *ssh.Client
	sess   *ssh.Session
	stdin  io.Writer
	out    *termStream
}

// openSSHTUI connects with signer and opens the TUI on a rows×cols pty.
func openSSHTUI(t *testing.T, addr, fingerprint string, signer ssh.Signer, rows, cols int) *sshTUI {
	t.Helper()
	client, err := dialSSH(addr, fingerprint, "whoever", ssh.PublicKeys(signer))
	if err != nil {
		t.Fatalf("ssh: %v", err)
	}
	t.Cleanup(func() { client.Close() })
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	s := &sshTUI{client: client, sess: sess, out: &termStream{}}
	sess.Stdout, sess.Stderr = s.out, s.out
	if s.stdin, err = sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm-256color", rows, cols, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *sshTUI) typeKeys(t *testing.T, text string) {
	t.Helper()
	if _, err := io.WriteString(s.stdin, text); err != nil {
		t.Fatal(err)
	}
}

// TestE2ESSHTwoAdmins: two admins in the TUI over SSH at once, on
// terminals of different sizes. One is halfway through a form while the
// other makes a link; Bob never sees Ada's keystrokes, each change is
// audited under its own name, and when one leaves the other works on.
func TestE2ESSHTwoAdmins(t *testing.T) {
	t.Parallel()
	p, addr, fingerprint := startSSHServer(t, t.TempDir())
	adaID := member(t, p, "ada@example.com", "ada", "Admin")
	bobID := member(t, p, "bob@example.com", "bob", "Admin")
	adaKey, adaLine := newSSHKey(t, "ada@laptop")
	bobKey, bobLine := newSSHKey(t, "bob@laptop")
	addSSHKey(t, p, e2eAdminKey, adaID, "", adaLine)
	addSSHKey(t, p, e2eAdminKey, bobID, "", bobLine)

	ada := openSSHTUI(t, addr, fingerprint, adaKey, 24, 80)
	bob := openSSHTUI(t, addr, fingerprint, bobKey, 40, 120)
	ada.out.waitText(t, "Ada's TUI", 15*time.Second, "Signup links", "over SSH as ada")
	bob.out.waitText(t, "Bob's TUI", 15*time.Second, "Signup links", "over SSH as bob")

	// Ada opens the link form and types half a name.
	ada.typeKeys(t, "n")
	ada.out.waitText(t, "Ada's link form", 5*time.Second, "New signup link")
	ada.typeKeys(t, "Half typed by Ada")
	ada.out.waitText(t, "Ada's typing", 5*time.Second, "Half typed by Ada")

	// Bob makes a link meanwhile.
	bob.typeKeys(t, "n")
	bob.out.waitText(t, "Bob's link form", 5*time.Second, "New signup link")
	bob.typeKeys(t, "Made by Bob")
	bob.out.waitText(t, "Bob's typing", 5*time.Second, "Made by Bob")
	bob.typeKeys(t, "\x13") // ctrl+s
	bob.out.waitText(t, "Bob's link created", 10*time.Second, "Created the signup link")
	if strings.Contains(bob.out.text(), "Half typed by Ada") {
		t.Fatal("Bob's screen shows what Ada typed")
	}
	ada.out.waitText(t, "Ada's form as she left it", 5*time.Second, "New signup link", "Half typed by Ada")

	// Bob leaves; Ada's session goes on and finishes her link.
	bob.client.Close()
	ada.typeKeys(t, " finished\x13")
	ada.out.waitText(t, "Ada's link created", 10*time.Second, "Created the signup link")
	names := map[string]bool{}
	for _, l := range listLinks(t, p) {
		names[l.(map[string]any)["name"].(string)] = true
	}
	if !names["Made by Bob"] || !names["Half typed by Ada finished"] {
		t.Fatalf("links after both sessions: %v", names)
	}
	status, _, body := do(t, "GET", p.URL+"/api/admin/events?type=signup-link-created", e2eAdminKey, nil)
	wantStatus(t, "events", status, 200, body)
	for _, who := range []string{`"createdBy":"ssh:ada"`, `"createdBy":"ssh:bob"`} {
		if !strings.Contains(string(body), who) {
			t.Errorf("no link event with %s: %s", who, body)
		}
	}
	// Ada's TUI still answers after Bob left: a refresh shows his link.
	ada.typeKeys(t, "\x12") // ctrl+r
	ada.out.waitText(t, "Bob's link in Ada's list", 10*time.Second, "Made by Bob")
}
