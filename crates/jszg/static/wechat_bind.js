// 绑定微信 in the personal centre (WX-3): a QR code from POST /api/v1/me/wechat/qrcodes; once the
// applicant's WeChat has scanned it, GET /api/v1/me reports wechat_bound and the page reloads.
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var start = $('wechat-bind-start');
  if (!start) return;
  var polling = null;

  function say(text) {
    $('wechat-bind-msg').textContent = text || '';
    $('wechat-bind-msg').className = 'msg' + (text ? ' bad' : '');
  }
  function poll(until) {
    clearTimeout(polling);
    if (Date.now() > until) { say('二维码已过期，请点击“绑定微信”重新获取。'); $('wechat-bind-qr').hidden = true; return; }
    polling = setTimeout(function () {
      fetch('/api/v1/me', { headers: { 'Accept': 'application/json' }, credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.json() : {}; })
        .then(function (me) {
          if (me && me.wechat_bound) { window.location.reload(); return; }
          poll(until);
        }, function () { poll(until); });
    }, 2000);
  }
  start.addEventListener('click', function () {
    say('');
    start.disabled = true;
    fetch('/api/v1/me/wechat/qrcodes', { method: 'POST', headers: { 'Accept': 'application/json' }, credentials: 'same-origin' })
      .then(function (r) { return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j || {} }; }); })
      .then(function (res) {
        start.disabled = false;
        if (res.status === 201) {
          $('wechat-bind-img').src = res.body.qr_url;
          // Development: the QR code is the simulator's; point at the page that scans it.
          document.querySelectorAll('[data-dev-wechat]').forEach(function (a) { a.hidden = res.body.qr_url.indexOf('/dev/wechat/') !== 0; });
          $('wechat-bind-qr').hidden = false;
          poll(Date.now() + res.body.expires_in * 1000);
          return;
        }
        say((res.body.error && res.body.error.message) || '微信服务暂时不可用，请稍后重试。');
      }, function () { start.disabled = false; say('网络异常，请稍后重试。'); });
  });
})();
