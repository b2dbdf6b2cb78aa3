package smtptest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
)

// Parsed is a received message taken apart.
type Parsed struct {
	Header            mail.Header
	From, To, Subject string   // the headers, decoded
	Type              string   // the media type of the whole message
	Parts             []string // the media types of its leaf parts, in order
	Text, HTML        string   // the text/plain and text/html parts, decoded
}

// Parse reads a message with net/mail and its parts with mime/multipart,
// decoding quoted-printable and base64 bodies.
func Parse(data []byte) (Parsed, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return Parsed{}, fmt.Errorf("not a mail message: %w", err)
	}
	p := Parsed{Header: msg.Header}
	dec := new(mime.WordDecoder)
	for key, dst := range map[string]*string{"From": &p.From, "To": &p.To, "Subject": &p.Subject} {
		if *dst, err = dec.DecodeHeader(msg.Header.Get(key)); err != nil {
			return Parsed{}, fmt.Errorf("header %s %q: %w", key, msg.Header.Get(key), err)
		}
	}
	if err := p.walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, 0); err != nil {
		return Parsed{}, fmt.Errorf("body: %w", err)
	}
	return p, nil
}

// MustParse is Parse that fails the test on an error.
func MustParse(tb testing.TB, data []byte) Parsed {
	tb.Helper()
	p, err := Parse(data)
	if err != nil {
		tb.Fatalf("received email: %v\n%s", err, data)
	}
	return p
}

// Subject returns the decoded Subject header of a message.
func Subject(data []byte) (string, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	return new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
}

func (p *Parsed) walk(contentType, encoding string, body io.Reader, depth int) error {
	if depth > 5 {
		return fmt.Errorf("multipart nested too deep")
	}
	if contentType == "" {
		contentType = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("Content-Type %q: %w", contentType, err)
	}
	if depth == 0 {
		p.Type = mt
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextPart decodes quoted-printable itself (and drops the
			// header); base64 is left to us.
			part, err := mr.NextPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := p.walk(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part, depth+1); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	p.Parts = append(p.Parts, mt)
	switch mt {
	case "text/plain":
		p.Text += string(data)
	case "text/html":
		p.HTML += string(data)
	}
	return nil
}
