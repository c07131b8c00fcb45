// The page behind a reset link: 新密码 + 确认密码 → the form's data-endpoint
// (POST /api/v1/password-resets for the emailed link, REC-2a, or
// /api/v1/wechat/password-resets for the chat's, REC-2c). The token is read
// from the address bar (the path, or ?token= for the chat's link) and sent
// only to this server.
(function () {
  'use strict';
  var form = document.getElementById('reset-form');
  if (!form) return;
  var $ = function (id) { return document.getElementById(id); };
  var parts = window.location.pathname.split('/');
  var fromQuery = new URLSearchParams(window.location.search).get('token');
  var token = fromQuery || decodeURIComponent(parts[parts.length - 1] || '');
  var endpoint = form.getAttribute('data-endpoint') || '/api/v1/password-resets';

  function msg(field, text) {
    var el = form.querySelector('.msg[data-for="' + field + '"]');
    if (el) { el.textContent = text || ''; el.className = 'msg' + (text ? ' bad' : ''); }
    var input = $(field);
    if (input) input.classList.toggle('bad', !!text);
  }
  function say(text) {
    $('form-msg').textContent = text || '';
    $('form-msg').className = 'msg form-msg' + (text ? ' bad' : '');
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    msg('new_password', '');
    msg('new_password_confirm', '');
    say('');
    var pw = $('new_password').value, confirm = $('new_password_confirm').value;
    if (!pw) { msg('new_password', '请输入新密码。'); $('new_password').focus(); return; }
    if (pw !== confirm) { msg('new_password_confirm', '两次输入的密码不一致，请重新输入确认密码。'); $('new_password_confirm').focus(); return; }
    $('reset-submit').disabled = true;
    fetch(endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify({ token: token, new_password: pw, new_password_confirm: confirm })
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j || {} }; });
    }).then(function (res) {
      $('reset-submit').disabled = false;
      if (res.status === 204) {
        form.hidden = true;
        $('reset-ok').hidden = false;
        return;
      }
      var e = (res.body && res.body.error) || {};
      if (res.status === 410) {
        form.hidden = true;
        $('reset-expired').hidden = false;
        return;
      }
      if (e.field === 'new_password' || e.field === 'new_password_confirm') msg(e.field, e.message);
      say(e.message || '重置失败，请稍后重试。');
    }).catch(function () {
      $('reset-submit').disabled = false;
      say('网络异常，请稍后重试。');
    });
  });
})();
