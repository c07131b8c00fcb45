// The /dev/wechat simulator (WX-4): one WeChat user's phone. Every action is a POST to
// /api/v1/dev/wechat/phones/{openid}/actions; the server builds the platform's signed, sealed
// message and sends it to /wechat/callback. Customer-service messages arrive by polling.
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var KEY = 'jszg-dev-wechat-openid';
  var params = new URLSearchParams(window.location.search);
  var state = { following: false, messages: [], qr_codes: [] };
  var shown = '';

  function newOpenid() {
    // Real openids are 28 characters starting with "o".
    var bytes = new Uint8Array(20);
    crypto.getRandomValues(bytes);
    var s = btoa(String.fromCharCode.apply(null, bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    return ('o' + s).slice(0, 28);
  }
  var openid = params.get('openid') || localStorage.getItem(KEY) || newOpenid();
  localStorage.setItem(KEY, openid);

  function say(text) {
    $('phone-msg').textContent = text || '';
    $('phone-msg').className = 'msg' + (text ? ' bad' : '');
  }

  // A line's text with its links made clickable, built without innerHTML.
  function fill(node, text) {
    text.split(/(https?:\/\/[^\s]+)/).forEach(function (part, i) {
      if (i % 2 === 1) {
        var a = document.createElement('a');
        a.href = part;
        a.textContent = part;
        a.target = '_blank';
        a.rel = 'noopener';
        node.appendChild(a);
      } else if (part) {
        node.appendChild(document.createTextNode(part));
      }
    });
  }

  function render() {
    $('openid').textContent = openid;
    $('follow').textContent = state.following ? '取消关注' : '关注';
    $('follow').setAttribute('aria-pressed', state.following ? 'true' : 'false');
    $('menu-get-code').disabled = !state.following;
    $('text').disabled = !state.following;
    $('send').disabled = !state.following;
    $('text').placeholder = state.following ? '发送消息' : '请先关注服务号';
    var key = JSON.stringify(state.messages);
    if (key !== shown) {
      shown = key;
      var chat = $('chat');
      chat.textContent = '';
      state.messages.forEach(function (m) {
        var li = document.createElement('li');
        li.className = 'chat-line from-' + m.from;
        fill(li, m.text);
        chat.appendChild(li);
      });
      chat.scrollTop = chat.scrollHeight;
    }
    var list = $('qr-list');
    list.textContent = '';
    state.qr_codes.forEach(function (q, i) {
      var li = document.createElement('li');
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn';
      b.dataset.ticket = q.ticket;
      b.textContent = (i === 0 ? '最新的二维码' : '二维码 ' + (i + 1)) + '（' + q.expires_in + '秒后过期）';
      b.addEventListener('click', function () { $('scan-list').hidden = true; act({ action: 'scan', ticket: q.ticket }); });
      li.appendChild(b);
      list.appendChild(li);
    });
    $('qr-empty').hidden = state.qr_codes.length > 0;
  }

  function url(path) { return '/api/v1/dev/wechat/phones/' + encodeURIComponent(openid) + (path || ''); }

  function load() {
    return fetch(url(), { headers: { 'Accept': 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) { if (s) { state = s; render(); } }, function () {});
  }

  var busy = Promise.resolve();
  function act(body) {
    say('');
    busy = busy.then(function () {
      return fetch(url('/actions'), { method: 'POST', headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' }, body: JSON.stringify(body) })
        .then(function (r) { return r.json().catch(function () { return {}; }).then(function (j) { return { ok: r.ok, body: j || {} }; }); })
        .then(function (res) {
          if (res.ok) { state = res.body; render(); return; }
          say((res.body.error && res.body.error.message) || '操作失败，请稍后重试。');
        }, function () { say('网络异常，请稍后重试。'); });
    });
    return busy;
  }

  $('follow').addEventListener('click', function () { act({ action: state.following ? 'unfollow' : 'follow' }); });
  $('menu-get-code').addEventListener('click', function () { act({ action: 'menu', key: 'GET_CODE' }); });
  $('send-form').addEventListener('submit', function (e) {
    e.preventDefault();
    var text = $('text').value;
    if (!text.trim()) return;
    $('text').value = '';
    act({ action: 'text', text: text });
  });
  $('scan').addEventListener('click', function () { load().then(function () { $('scan-list').hidden = false; }); });
  $('scan-close').addEventListener('click', function () { $('scan-list').hidden = true; });
  $('switch-user').addEventListener('click', function () {
    openid = newOpenid();
    localStorage.setItem(KEY, openid);
    shown = '';
    state = { following: false, messages: [], qr_codes: [] };
    render();
    load();
  });

  render();
  // Opening a QR code's link is scanning it; the service account's own code follows it.
  var first = params.get('scan') ? act({ action: 'scan', ticket: params.get('scan') })
    : params.get('follow') ? act({ action: 'follow' }) : load();
  if (params.get('scan') || params.get('follow')) {
    params.delete('scan');
    params.delete('follow');
    history.replaceState(null, '', window.location.pathname + (params.toString() ? '?' + params : ''));
  }
  first.then(function () {
    setInterval(load, 2000);
  });
})();
