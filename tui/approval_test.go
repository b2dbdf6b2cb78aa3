package tui

import (
	"testing"
	"time"

	"invited/db"
)

// Users waiting for approval are counted in the header and marked in the
// list; a approves one and R rejects one, each after a yes; on any other
// user a still opens the groups and R does nothing.
func TestApproveAndRejectByKeystrokes(t *testing.T) {
	h := newHarness(t, true)
	link, err := h.store.CreateSignupToken(testAdmin, db.NewSignupToken{Name: "Contractors", ExpiresAt: fixedNow.Add(24 * time.Hour), RequireApproval: true})
	if err != nil {
		t.Fatal(err)
	}
	var waiting []db.User
	for _, nu := range []db.NewUser{
		{Email: "bob@example.org", Name: "Bob", PasswordHash: "x"},
		{Email: "cy@example.org", Name: "Cy", PasswordHash: "x"},
	} {
		u, err := h.store.RedeemSignupToken(link.Secret, nu)
		if err != nil {
			t.Fatal(err)
		}
		waiting = append(waiting, u)
	}
	h.keys("ctrl+r")
	h.contains("2 waiting")
	h.keys("3")
	h.contains("2 waiting", "bob@example.org", "waiting")

	// Not on an active user.
	h.keys("R")
	h.contains("ada@example.com is not waiting for approval")
	h.keys("j", "j") // bob
	h.contains("a approve", "R reject")
	h.keys("a")
	h.contains("Approve bob@example.org?")
	h.keys("n")
	if u, _ := h.store.FindUserByID(waiting[0].ID); !u.PendingApproval {
		t.Fatal("approved without a yes")
	}
	h.keys("a", "y")
	h.contains("Approved bob@example.org", "1 waiting")
	if u, _ := h.store.FindUserByID(waiting[0].ID); u.PendingApproval {
		t.Fatal("bob still waits")
	}
	h.keys("j", "R")
	h.contains("Reject cy@example.org?")
	h.keys("y")
	h.contains("Rejected cy@example.org")
	h.lacks("waiting")
	if _, err := h.store.FindUserByID(waiting[1].ID); db.ErrorCode(err) != db.ENOTFOUND {
		t.Fatalf("cy is still there: %v", err)
	}
	events, _, _ := h.store.ListEvents(db.EventUserApproved, 0, 10)
	rejected, _, _ := h.store.ListEvents(db.EventUserRejected, 0, 10)
	if len(events) != 1 || len(rejected) != 1 || events[0].CreatedBy != testAdmin.String() {
		t.Fatalf("events %+v %+v", events, rejected)
	}
	// On an active user a is still the groups.
	h.keys("g", "a")
	h.contains("Groups of ada@example.com")
}

// The link form sets requireApproval and the detail shows it.
func TestLinkApprovalField(t *testing.T) {
	h := newHarness(t, false)
	h.keys("n")
	h.typeText("Contractors")
	h.keys("tab", "tab", "tab", "tab", "tab", "tab", "right") // Approval: required
	h.contains("> Approval")
	h.keys("ctrl+s")
	h.contains(`Created the signup link "Contractors"`)
	tokens, err := h.store.ListSignupTokens(testAdmin)
	if err != nil || len(tokens) != 1 || !tokens[0].RequireApproval {
		t.Fatalf("links %+v, %v", tokens, err)
	}
	h.keys("enter")
	h.contains("Approval", "whoever signs up waits for an Admin")
	h.keys("esc", "m", "tab", "tab", "tab", "tab", "tab", "right", "ctrl+s") // Approval: not required
	h.contains(`Saved the signup link "Contractors"`)
	if tokens, _ := h.store.ListSignupTokens(testAdmin); tokens[0].RequireApproval {
		t.Fatal("approval is still required")
	}
}
