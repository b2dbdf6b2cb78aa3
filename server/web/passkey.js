// passkey.js runs the passkey ceremonies of invited's pages: signing in
// with a passkey on /login, using one as the second step of a password
// login on /login/second-factor, and adding one on /account. It is the only
// script of the site, served from the binary under a hashed name; the
// pages that load it allow script-src 'self' and connect-src 'self' and
// nothing more. Without it (no JavaScript, or a browser without WebAuthn)
// the passkey controls stay hidden and every form works as before.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials || !window.fetch) {
    return;
  }

  // WebAuthn speaks ArrayBuffers; the server speaks base64url.
  function toBuffer(s) {
    var b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function toBase64url(buf) {
    if (!buf) {
      return undefined;
    }
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeDescriptors(list) {
    return (list || []).map(function (d) {
      return Object.assign({}, d, { id: toBuffer(d.id) });
    });
  }

  // post sends body as JSON and returns the answer, or throws with the
  // server's message.
  async function post(url, body) {
    var res = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
    var data = null;
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
    if (!res.ok) {
      throw new Error((data && data.message) || "The server answered " + res.status + "; try again.");
    }
    return data;
  }

  function common(cred) {
    return {
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      // The server asks for no extension, so it reads none; some
      // authenticators volunteer outputs the server would refuse.
      clientExtensionResults: {},
    };
  }

  function show(box, message) {
    box.textContent = message;
    box.hidden = false;
  }

  // A refusal in the browser's own dialog is not an error worth a scary
  // message.
  function describe(err) {
    if (err && err.name === "NotAllowedError") {
      return "The passkey request was cancelled or timed out. Try again, or log in with your password.";
    }
    if (err && err.name === "InvalidStateError") {
      return "This device already holds a passkey for your account.";
    }
    return (err && err.message) || "Something went wrong; try again.";
  }

  // signIn runs a login ceremony: begin at beginURL with beginBody, let
  // the browser's passkey answer, finish at finishURL with finishBody plus
  // the ceremony and the answer, then go where the server says.
  async function signIn(beginURL, beginBody, finishURL, finishBody) {
    var begun = await post(beginURL, beginBody);
    var opts = begun.publicKey;
    opts.challenge = toBuffer(opts.challenge);
    opts.allowCredentials = decodeDescriptors(opts.allowCredentials);
    var cred = await navigator.credentials.get({ publicKey: opts });
    var answer = common(cred);
    answer.response = {
      clientDataJSON: toBase64url(cred.response.clientDataJSON),
      authenticatorData: toBase64url(cred.response.authenticatorData),
      signature: toBase64url(cred.response.signature),
      userHandle: toBase64url(cred.response.userHandle),
    };
    finishBody.ceremony = begun.ceremony;
    finishBody.credential = answer;
    var done = await post(finishURL, finishBody);
    window.location.assign(done.next);
  }

  // onPress shows the passkey controls and runs action when button is
  // pressed, showing what went wrong in the error box.
  function onPress(button, action) {
    var box = document.getElementById("passkey-error");
    var wrap = document.getElementById("passkey-signin");
    if (wrap) {
      wrap.hidden = false;
    }
    button.addEventListener("click", async function () {
      box.hidden = true;
      button.disabled = true;
      try {
        await action();
      } catch (err) {
        show(box, describe(err));
        button.disabled = false;
      }
    });
  }

  // Signing in on /login: a discoverable login, then on to where the
  // login form would have gone.
  function setupLogin(button) {
    onPress(button, function () {
      var body = {};
      var rd = document.querySelector('form[action="/login"] input[name="rd"]');
      if (rd && rd.value) {
        body.rd = rd.value;
      }
      return signIn("/auth/passkey/login/begin", {}, "/auth/passkey/login/finish", body);
    });
  }

  // The second step of a password login, on /login/second-factor: a
  // ceremony bound to the continuation's user, then on as the login goes.
  function setupSecond(button) {
    onPress(button, function () {
      var continuation = button.getAttribute("data-continuation");
      var body = { continuation: continuation };
      var rd = button.getAttribute("data-rd");
      if (rd) {
        body.rd = rd;
      }
      return signIn("/auth/passkey/second-factor/begin", { continuation: continuation },
        "/auth/passkey/second-factor/finish", body);
    });
  }

  // Adding a passkey on /account.
  function setupAdd(form) {
    var box = document.getElementById("passkey-error");
    var name = document.getElementById("passkey-name");
    var button = form.querySelector("button[type=submit]");
    form.hidden = false;
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      box.hidden = true;
      button.disabled = true;
      try {
        var begun = await post("/account/passkeys/begin", { name: name.value });
        var opts = begun.publicKey;
        opts.challenge = toBuffer(opts.challenge);
        opts.user.id = toBuffer(opts.user.id);
        opts.excludeCredentials = decodeDescriptors(opts.excludeCredentials);
        var cred = await navigator.credentials.create({ publicKey: opts });
        var answer = common(cred);
        answer.response = {
          clientDataJSON: toBase64url(cred.response.clientDataJSON),
          attestationObject: toBase64url(cred.response.attestationObject),
          transports: cred.response.getTransports ? cred.response.getTransports() : [],
        };
        await post("/account/passkeys/finish", { ceremony: begun.ceremony, credential: answer });
        window.location.assign("/account?passkey-added");
      } catch (err) {
        show(box, describe(err));
        button.disabled = false;
      }
    });
  }

  function start() {
    var login = document.getElementById("passkey-login");
    if (login) {
      setupLogin(login);
    }
    var second = document.getElementById("passkey-second");
    if (second) {
      setupSecond(second);
    }
    var add = document.getElementById("passkey-add");
    if (add) {
      setupAdd(add);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
