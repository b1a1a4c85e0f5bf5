// Passkey ceremonies on the hosted pages, over @simplewebauthn/browser's bundle (loaded first, as
// /assets/webauthn-browser.js: the global SimpleWebAuthnBrowser). Pages render every passkey
// element hidden and work without this script; it shows them only where passkeys can work.
//
// The contract with the pages:
// - <form data-passkey="register|authenticate" data-passkey-options=URL data-passkey-verify=URL
//   data-passkey-cancelled="text">, with a hidden `csrf` input, an optional `name` input (register)
//   and a [data-passkey-error] element (role="alert", hidden). Submitting it runs the ceremony:
//   options from the options URL, the browser's dialog, the result to the verify URL, which
//   answers {"location"} to go to or {"error"} to show.
// - [data-passkey-supported] elements are shown when the browser supports WebAuthn.
// - <input data-passkey-autofill data-passkey-options=URL data-passkey-verify=URL
//   autocomplete="username webauthn">: passkeys offered in the browser's autofill (conditional
//   mediation), verified like a form's.
(function () {
  'use strict';
  const lib = window.SimpleWebAuthnBrowser;
  if (!lib || !lib.browserSupportsWebAuthn()) return;

  /** A refusal worded by the server for people; any other failure shows the form's own text. */
  class Refusal extends Error {}

  async function postJson(url, payload) {
    const response = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(payload),
    });
    const body = await response.json().catch(function () { return {}; });
    if (!response.ok) throw new Refusal(typeof body.error === 'string' ? body.error : '');
    return body;
  }

  const csrfOf = function (form) {
    const field = form && form.querySelector('input[name="csrf"]');
    return field ? field.value : '';
  };

  /** Sends a ceremony's result; goes where the server says, on this origin only. */
  async function verify(url, payload) {
    const body = await postJson(url, payload);
    const target = typeof body.location === 'string' ? new URL(body.location, window.location.href) : null;
    if (!target || target.origin !== window.location.origin) throw new Refusal('');
    window.location.assign(target.href);
  }

  function showError(form, message) {
    const box = form && form.querySelector('[data-passkey-error]');
    const text = message || (form && form.getAttribute('data-passkey-cancelled'));
    if (!box || !text) return;
    box.textContent = text;
    box.hidden = false;
  }

  function setBusy(form, busy) {
    form.querySelectorAll('button, input[type="submit"]').forEach(function (button) { button.disabled = busy; });
    const box = form.querySelector('[data-passkey-error]');
    if (busy && box) box.hidden = true;
  }

  // Set once autofill runs: a form's ceremony aborts it, so it is started again afterwards.
  let restartAutofill = function () {};

  async function runForm(form) {
    const kind = form.getAttribute('data-passkey');
    const csrf = csrfOf(form);
    setBusy(form, true);
    try {
      const optionsJSON = await postJson(form.getAttribute('data-passkey-options'), { csrf: csrf });
      let response;
      try {
        // Starting a ceremony cancels a pending autofill one (the library's WebAuthnAbortService).
        response = kind === 'register' ? await lib.startRegistration({ optionsJSON: optionsJSON }) : await lib.startAuthentication({ optionsJSON: optionsJSON });
      } catch (error) {
        // NotAllowedError (cancelled, timed out), AbortError, InvalidStateError (already registered), ...
        throw new Refusal('');
      }
      const nameField = form.querySelector('input[name="name"]');
      await verify(form.getAttribute('data-passkey-verify'), { csrf: csrf, name: nameField ? nameField.value : '', response: response });
    } catch (error) {
      showError(form, error instanceof Refusal ? error.message : '');
      setBusy(form, false);
      restartAutofill();
    }
  }

  async function runAutofill(input) {
    const form = input.form;
    let response;
    try {
      const optionsJSON = await postJson(input.getAttribute('data-passkey-options'), { csrf: csrfOf(form) });
      response = await lib.startAuthentication({ optionsJSON: optionsJSON, useBrowserAutofill: true });
    } catch (error) {
      // Aborted for a form's ceremony, or autofill unavailable: the other ways in still work.
      return;
    }
    try {
      await verify(input.getAttribute('data-passkey-verify'), { csrf: csrfOf(form), response: response });
    } catch (error) {
      showError(form, error instanceof Refusal ? error.message : '');
      // Its challenge is used up: offer passkeys again with a fresh one.
      runAutofill(input);
    }
  }

  function start() {
    document.querySelectorAll('[data-passkey-supported]').forEach(function (element) { element.hidden = false; });
    document.querySelectorAll('form[data-passkey]').forEach(function (form) {
      let running = false;
      form.addEventListener('submit', function (event) {
        event.preventDefault();
        if (running) return;
        running = true;
        runForm(form).finally(function () { running = false; });
      });
    });
    const input = document.querySelector('input[data-passkey-autofill]');
    if (!input) return;
    lib.browserSupportsWebAuthnAutofill().then(function (supported) {
      if (!supported) return;
      restartAutofill = function () { runAutofill(input); };
      runAutofill(input);
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
