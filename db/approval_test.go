package db

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// approvalHarness is an accounts harness with two active Admins (a@, b@)
// and a disabled one (c@), and a Viewer link that requires approval.
func approvalHarness(tb testing.TB, mode VerifyEmailMode) (*accountsHarness, SignupToken) {
	tb.Helper()
	ah := mustAccountsMode(tb, mode)
	admins := mustLink(tb, ah.s, ah.clock, NewSignupToken{Name: "admins", Role: RoleAdmin})
	for _, name := range []string{"a", "b", "c"} {
		u, err := ah.s.RedeemSignupToken(admins.Secret, newUser(name+"@example.com", name))
		if err != nil {
			tb.Fatal(err)
		}
		if !u.EmailVerified {
			if _, err := ah.s.MarkEmailVerified(admin, u.ID); err != nil {
				tb.Fatal(err)
			}
		}
		if name == "c" {
			if _, err := ah.s.DisableUser(admin, u.ID); err != nil {
				tb.Fatal(err)
			}
		}
	}
	link := mustLink(tb, ah.s, ah.clock, NewSignupToken{Name: "contractors", RequireApproval: true})
	if !link.RequireApproval {
		tb.Fatalf("the link does not require approval: %+v", link)
	}
	return ah, link
}

// emailsOf returns the outbox emails of kind about user id.
func (ah *accountsHarness) emailsOf(tb testing.TB, kind string, id uint64) []OutboxEmail {
	tb.Helper()
	var out []OutboxEmail
	for _, e := range ah.outbox(tb) {
		if e.Kind == kind && e.UserID == id {
			out = append(out, e)
		}
	}
	return out
}

func TestApprovalFlow(t *testing.T) {
	ah, link := approvalHarness(t, VerifyEmailNever)
	u, err := ah.SignupWithLink(t.Context(), link.Secret, account("kay@example.com", "kay", goodPassword))
	if err != nil {
		t.Fatal(err)
	}
	if !u.PendingApproval || u.Active() || !u.EmailVerified {
		t.Fatalf("a signup through an approval link: %+v", u)
	}
	if n, err := ah.s.CountPendingUsers(); err != nil || n != 1 {
		t.Fatalf("pending count %d, %v", n, err)
	}

	// Every active Admin is told, the disabled one is not, and the user
	// gets no welcome email yet.
	var to []string
	for _, e := range ah.emailsOf(t, EmailApprovalRequest, u.ID) {
		to = append(to, e.To)
	}
	slices.Sort(to)
	if !slices.Equal(to, []string{"a@example.com", "b@example.com"}) {
		t.Fatalf("approval requests went to %v", to)
	}
	if w := ah.emailsOf(t, EmailWelcome, u.ID); len(w) != 0 {
		t.Fatalf("a waiting user got a welcome email: %+v", w)
	}
	got, name, err := ah.s.PendingSignup(u.ID)
	if err != nil || got.Email != "kay@example.com" || name != "contractors" {
		t.Fatalf("PendingSignup: %+v %q %v", got, name, err)
	}

	// Only the right password hears about the wait; no session.
	if _, err := ah.Login(t.Context(), "kay", otherPassword); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("wrong password: %v", err)
	}
	res, err := ah.Login(t.Context(), "kay", goodPassword)
	if !errors.Is(err, ErrPendingApproval) || res.Token != "" || res.User.ID != u.ID {
		t.Fatalf("right password while waiting: %+v, %v", res, err)
	}
	if !strings.Contains(ErrorMessage(err), "waits for an admin's approval") {
		t.Fatalf("message %q", ErrorMessage(err))
	}

	// Approval: the event, the email, and the login works.
	approved, err := ah.s.ApproveUser(admin, u.ID)
	if err != nil || approved.PendingApproval || !approved.Active() {
		t.Fatalf("approve: %+v, %v", approved, err)
	}
	if e := ah.emailsOf(t, EmailApproved, u.ID); len(e) != 1 || e[0].To != "kay@example.com" {
		t.Fatalf("approved emails %+v", e)
	}
	// Sending it counts as the welcome email (emailSent), and a failed
	// one may be retried: it is made from the user.
	approvedEmail := ah.emailsOf(t, EmailApproved, u.ID)[0]
	if err := ah.s.RetryEmail(approvedEmail.ID); err != nil {
		t.Fatalf("retry the approved email: %v", err)
	}
	if err := ah.s.MarkEmailSent(approvedEmail.ID, "Your account is approved"); err != nil {
		t.Fatal(err)
	}
	if got, _ := ah.s.FindUserByID(u.ID); !got.EmailSent {
		t.Fatal("sending the approved email did not set emailSent")
	}
	events, _, _ := ah.s.ListEvents(EventUserApproved, 0, 10)
	if len(events) != 1 || events[0].ObjectID != strconv.FormatUint(u.ID, 10) || !strings.Contains(events[0].CreatedBy, "test-admin") {
		t.Fatalf("events %+v", events)
	}
	if res, err := ah.Login(t.Context(), "kay", goodPassword); err != nil || res.Token == "" {
		t.Fatalf("login after approval: %+v, %v", res, err)
	}
	if _, err := ah.s.ApproveUser(admin, u.ID); ErrorCode(err) != EINVALID {
		t.Fatalf("approving twice: %v", err)
	}
	if _, _, err := ah.s.PendingSignup(u.ID); ErrorCode(err) != EINVALID {
		t.Fatalf("PendingSignup after approval: %v", err)
	}
	if n, _ := ah.s.CountPendingUsers(); n != 0 {
		t.Fatalf("pending count %d after approval", n)
	}
}

func TestRejectOnlyPending(t *testing.T) {
	ah, link := approvalHarness(t, VerifyEmailNever)
	active, err := ah.s.FindUserByLogin("a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []uint64{active.ID, 0, 999, ^uint64(0)} {
		_, err := ah.s.RejectUser(admin, id)
		want := ENOTFOUND
		if id == active.ID {
			want = EINVALID
		}
		wantCode(t, err, want)
	}
	if _, err := ah.s.FindUserByID(active.ID); err != nil {
		t.Fatalf("rejecting an active user deleted it: %v", err)
	}
	if _, err := ah.s.ApproveUser(admin, active.ID); ErrorCode(err) != EINVALID {
		t.Fatalf("approving an active user: %v", err)
	}

	u, err := ah.s.RedeemSignupToken(link.Secret, newUser("kay@example.com", "kay"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ah.s.RejectUser(admin, u.ID)
	if err != nil || got.Email != "kay@example.com" {
		t.Fatalf("reject: %+v, %v", got, err)
	}
	if _, err := ah.s.FindUserByID(u.ID); ErrorCode(err) != ENOTFOUND {
		t.Fatalf("the rejected user is still there: %v", err)
	}
	events, _, _ := ah.s.ListEvents(EventUserRejected, 0, 10)
	if len(events) != 1 || events[0].Data["email"] != "kay@example.com" {
		t.Fatalf("events %+v", events)
	}
	// The address is free again; the link kept the use.
	if _, err := ah.s.RedeemSignupToken(link.Secret, newUser("kay@example.com", "kay")); err != nil {
		t.Fatalf("signing up again after a rejection: %v", err)
	}
	tok, err := ah.s.FindSignupToken(admin, link.Secret)
	if err != nil || tok.Uses != 2 || len(tok.Users) != 1 {
		t.Fatalf("link after a rejection: uses %d, users %d, %v", tok.Uses, len(tok.Users), err)
	}
	// The approval request about the rejected user is not sent.
	if _, _, err := ah.s.PendingSignup(u.ID); ErrorCode(err) != ENOTFOUND {
		t.Fatalf("PendingSignup of a rejected user: %v", err)
	}
}

func TestApprovalCeilings(t *testing.T) {
	ah := mustAccountsMode(t, VerifyEmailNever)
	adminLink := mustLink(t, ah.s, ah.clock, NewSignupToken{Role: RoleAdmin, RequireApproval: true})
	viewerLink := mustLink(t, ah.s, ah.clock, NewSignupToken{Role: RoleViewer, RequireApproval: true})
	high, err := ah.s.RedeemSignupToken(adminLink.Secret, newUser("boss@example.com", "boss"))
	if err != nil {
		t.Fatal(err)
	}
	low, err := ah.s.RedeemSignupToken(viewerLink.Secret, newUser("low@example.com", "low"))
	if err != nil {
		t.Fatal(err)
	}
	editor := Actor{Kind: "apikey", ID: 2, Name: "ed", Role: RoleEditor}
	if _, err := ah.s.ApproveUser(editor, high.ID); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("an Editor approved an Admin: %v", err)
	}
	if _, err := ah.s.RejectUser(editor, high.ID); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("an Editor rejected an Admin: %v", err)
	}
	if u, _ := ah.s.FindUserByID(high.ID); !u.PendingApproval {
		t.Fatal("a refused approval changed the user")
	}
	if _, err := ah.s.ApproveUser(editor, low.ID); err != nil {
		t.Fatalf("the store refuses an Editor a Viewer (the server's table keeps Editors out): %v", err)
	}
	// A pending Admin is no Admin: it is not told about signups.
	if n, _ := ah.s.CountPendingUsers(); n != 1 {
		t.Fatalf("pending %d", n)
	}
	if _, err := ah.s.RedeemSignupToken(viewerLink.Secret, newUser("next@example.com", "next")); err != nil {
		t.Fatal(err)
	}
	for _, e := range ah.outbox(t) {
		if e.Kind == EmailApprovalRequest {
			t.Fatalf("an approval request went to %s, who is no active Admin", e.To)
		}
	}
}

// TestApprovalAndVerification: both must hold, in either order; the
// Admins are told at signup.
func TestApprovalAndVerification(t *testing.T) {
	for _, approveFirst := range []bool{false, true} {
		ah, link := approvalHarness(t, VerifyEmailAlways)
		u, err := ah.SignupWithLink(t.Context(), link.Secret, account("kay@example.com", "kay", goodPassword))
		if err != nil {
			t.Fatal(err)
		}
		if u.EmailVerified || !u.PendingApproval {
			t.Fatalf("signup: %+v", u)
		}
		if len(ah.emailsOf(t, EmailApprovalRequest, u.ID)) != 2 || len(ah.verifyEmails(t, u.ID)) != 1 {
			t.Fatalf("outbox at signup %+v", ah.outbox(t))
		}
		// The address comes first in the login's answer.
		if _, err := ah.Login(t.Context(), "kay", goodPassword); !errors.Is(err, ErrEmailUnverified) {
			t.Fatalf("unverified and waiting: %v", err)
		}
		secret, _, _, err := ah.s.IssueEmailVerification(u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if approveFirst {
			if _, err := ah.s.ApproveUser(admin, u.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := ah.Login(t.Context(), "kay", goodPassword); !errors.Is(err, ErrEmailUnverified) {
				t.Fatalf("approved, unverified: %v", err)
			}
			if _, err := ah.s.VerifyEmail(secret); err != nil {
				t.Fatal(err)
			}
		} else {
			if _, err := ah.s.VerifyEmail(secret); err != nil {
				t.Fatal(err)
			}
			if _, err := ah.Login(t.Context(), "kay", goodPassword); !errors.Is(err, ErrPendingApproval) {
				t.Fatalf("verified, waiting: %v", err)
			}
			if _, err := ah.s.ApproveUser(admin, u.ID); err != nil {
				t.Fatal(err)
			}
		}
		if res, err := ah.Login(t.Context(), "kay", goodPassword); err != nil || res.Token == "" {
			t.Fatalf("approveFirst=%v: login with both: %v", approveFirst, err)
		}
		// Verifying last is what makes the account ready, so that
		// sends the welcome email; approving last sends only the
		// approval email.
		if w := ah.emailsOf(t, EmailWelcome, u.ID); len(w) != map[bool]int{false: 0, true: 1}[approveFirst] {
			t.Fatalf("approveFirst=%v: welcome emails %+v", approveFirst, w)
		}
		if a := ah.emailsOf(t, EmailApproved, u.ID); len(a) != 1 {
			t.Fatalf("approveFirst=%v: approved emails %+v", approveFirst, a)
		}
	}
}

func TestRequireApprovalOnLinkUpdate(t *testing.T) {
	ah := mustAccountsMode(t, VerifyEmailNever)
	link := mustLink(t, ah.s, ah.clock, NewSignupToken{})
	on := true
	tok, err := ah.s.UpdateSignupToken(admin, link.Secret, SignupTokenUpdate{RequireApproval: &on})
	if err != nil || !tok.RequireApproval {
		t.Fatalf("update: %+v, %v", tok, err)
	}
	u, err := ah.s.RedeemSignupToken(link.Secret, newUser("kay@example.com", "kay"))
	if err != nil || !u.PendingApproval {
		t.Fatalf("signup after turning approval on: %+v, %v", u, err)
	}
	events, _, _ := ah.s.ListEvents(EventLinkUpdated, 0, 10)
	if len(events) != 1 || events[0].Data["requireApproval"] != true {
		t.Fatalf("events %+v", events)
	}
	off := false
	if tok, err = ah.s.UpdateSignupToken(admin, link.Secret, SignupTokenUpdate{RequireApproval: &off}); err != nil || tok.RequireApproval {
		t.Fatalf("update off: %+v, %v", tok, err)
	}
	if u2, _ := ah.s.FindUserByID(u.ID); !u2.PendingApproval {
		t.Fatal("turning approval off let a waiting user in")
	}
}
