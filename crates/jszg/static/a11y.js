/* jszg accessibility on every applicant page (SPEC A11Y-4/5). Plain JS, CSP-friendly.
 *
 * 关怀模式: the header's toggle switches the page at once and remembers the choice in a cookie
 * (no account needed); the server reads the cookie and renders later pages in the same mode.
 *
 * Errors tied to their fields: every `.msg[data-for="X"]` becomes part of field X's
 * accessible description (aria-describedby), and the field is marked aria-invalid while the
 * message is an error, so a screen reader says the message when the field is reached, not only
 * when it appears (the messages are aria-live as well).
 */
(function () {
  'use strict';

  var COOKIE = 'jszg_care';
  var YEAR = 365 * 24 * 3600;

  function careToggle() {
    var button = document.getElementById('care-toggle');
    if (!button) return;
    button.addEventListener('click', function () {
      var on = !document.documentElement.classList.contains('care');
      document.documentElement.classList.toggle('care', on);
      button.setAttribute('aria-pressed', String(on));
      document.cookie = COOKIE + '=' + (on ? '1' : '0') + '; Path=/; Max-Age=' + (on ? YEAR : 0) + '; SameSite=Lax';
    });
  }

  function fieldFor(msg) {
    var name = msg.getAttribute('data-for');
    return document.getElementById(name) ||
      msg.closest('[role="radiogroup"]') ||
      document.querySelector('[name="' + name + '"]');
  }

  function linkMessage(msg, n) {
    var field = fieldFor(msg);
    if (!field) return;
    if (!msg.id) msg.id = 'msg-' + msg.getAttribute('data-for') + '-' + n;
    var ids = (field.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
    if (ids.indexOf(msg.id) < 0) field.setAttribute('aria-describedby', ids.concat(msg.id).join(' '));
    function mark() {
      var bad = msg.classList.contains('bad') && msg.textContent.trim() !== '';
      if (bad) field.setAttribute('aria-invalid', 'true');
      else field.removeAttribute('aria-invalid');
    }
    new MutationObserver(mark).observe(msg, { attributes: true, attributeFilter: ['class'], childList: true, characterData: true, subtree: true });
    mark();
  }

  function linkMessages() {
    var all = document.querySelectorAll('.msg[data-for]');
    for (var i = 0; i < all.length; i++) linkMessage(all[i], i);
  }

  function start() { careToggle(); linkMessages(); }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
