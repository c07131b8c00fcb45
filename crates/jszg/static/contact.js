// 修改手机号码 / 修改邮箱: the slider, then a code to the NEW address.
(function () {
  'use strict';
  var form = document.getElementById('contact-form');
  if (!form) return;
  var $ = function (id) { return document.getElementById(id); };
  var channel = form.getAttribute('data-channel');
  var token = null;
  var captcha = null;
  var cooldown = 0;

  function say(text, good) { $('code-msg').textContent = text; $('code-msg').className = 'msg ' + (good ? 'good' : 'bad'); }
  function sync() { $('send-code').disabled = !token || !$('target').value.trim() || cooldown > 0; }
  function tick() {
    var btn = $('send-code');
    if (cooldown > 0) { btn.textContent = '重新获取(' + cooldown + 's)'; cooldown -= 1; setTimeout(tick, 1000); }
    else { btn.textContent = channel === 'sms' ? '免费获取验证码' : '邮箱获取验证码'; sync(); }
  }

  if (window.JszgCaptcha) {
    captcha = window.JszgCaptcha.mount($('captcha'), { purpose: channel, onToken: function (t) { token = t; sync(); } });
  }
  $('target').addEventListener('input', sync);
  $('send-code').addEventListener('click', function () {
    var body = channel === 'sms'
      ? { channel: 'sms', phone: $('target').value, purpose: 'change_phone', captcha_token: token }
      : { channel: 'email', email: $('target').value, purpose: 'change_email', captcha_token: token };
    token = null;
    sync();
    fetch('/api/v1/verification-codes', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, credentials: 'same-origin', body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j }; });
    }).then(function (res) {
      if (res.status === 202) {
        say('验证码已发送，5分钟内有效。', true); cooldown = 60; tick();
        // No new puzzle until one is needed: each raises the address's proof of work (ABUSE-2).
        if (captcha) captcha.rest('验证码已发送。如需重新获取，请点击此处刷新拼图。');
        return;
      }
      say(((res.body || {}).error || {}).message || '获取验证码失败，请稍后重试。', false);
      if (captcha) captcha.reset();
    }).catch(function () { say('网络异常，请稍后重试。', false); if (captcha) captcha.reset(); });
  });
})();
