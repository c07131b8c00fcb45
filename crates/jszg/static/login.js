// 登录, and 关联教育部账号 (the account's password once, then signed in and linked): the eye
// toggle, the slider, and where to go after.
(function () {
  'use strict';
  var form = document.getElementById('login-form') || document.getElementById('upstream-link-form');
  if (!form) return;
  var linking = form.id === 'upstream-link-form';
  var $ = function (id) { return document.getElementById(id); };
  var entry = form.getAttribute('data-entry') || 'certification';
  var token = null;
  var captcha = null;

  $('toggle-password').addEventListener('click', function () {
    var input = $('password');
    var show = input.type === 'password';
    input.type = show ? 'text' : 'password';
    this.setAttribute('aria-pressed', show ? 'true' : 'false');
    this.setAttribute('aria-label', show ? '隐藏密码' : '显示密码');
    this.title = show ? '隐藏密码' : '显示密码';
    this.classList.toggle('shown', show);
  });

  if (window.JszgCaptcha) {
    captcha = window.JszgCaptcha.mount($('captcha'), {
      purpose: 'login',
      onToken: function (t) { token = t; $('form-msg').textContent = ''; }
    });
  }

  function fail(text) {
    $('form-msg').textContent = text;
    $('form-msg').className = 'msg form-msg bad';
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (!linking && !$('doc_number').value.trim()) { fail('请填写有效身份证件号码。'); $('doc_number').focus(); return; }
    if (!$('password').value) { fail('请输入密码。'); $('password').focus(); return; }
    if (!token) { fail('请先向右拖动滑块完成图形验证。'); return; }
    var used = token;
    token = null; // single use, whatever the answer
    $('submit').disabled = true;
    var body = linking
      ? { password: $('password').value, captcha_token: used }
      : { doc_number: $('doc_number').value, password: $('password').value, captcha_token: used, entry: entry };
    fetch(linking ? '/api/v1/sessions/upstream-link' : '/api/v1/sessions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j }; });
    }).then(function (res) {
      $('submit').disabled = false;
      if (res.status === 200) {
        var next = res.body.next;
        window.location.href = next === 'complete_profile' ? '/me/profile' : '/entries/' + (res.body.entry || entry);
        return;
      }
      var e = (res.body && res.body.error) || {};
      fail(e.message || (linking ? '验证失败，请稍后重试。' : '登录失败，请稍后重试。'));
      if (captcha) captcha.reset();
    }).catch(function () {
      $('submit').disabled = false;
      fail('网络异常，请稍后重试。');
      if (captcha) captcha.reset();
    });
  });
})();
