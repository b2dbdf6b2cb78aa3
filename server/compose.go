package server

import (
	"invited/db"
)

// Composers returns the store's email composers for a site: invitation
// emails always, welcome emails when welcome is set. Welcome emails point
// people at {baseURL}/login.
func Composers(site, baseURL string, welcome bool) (db.InvitationComposer, db.Composer) {
	invite := func(inv db.Invitation) (db.Email, error) {
		return RenderInvitationEmail(InvitationMail{
			SiteName: site, To: inv.Email, Inviter: inv.Inviter, URI: inv.URI,
			ExpiresAt: inv.ExpiresAt, RoleName: inv.Role.Name(),
		})
	}
	if !welcome {
		return invite, nil
	}
	return invite, func(u db.User) (db.Email, error) {
		return RenderWelcomeEmail(WelcomeMail{SiteName: site, To: u.Email, Name: u.Name, LoginURL: baseURL + "/login"})
	}
}
