// 忘记密码 (REC-1, REC-2): step 1 (证件类型, 证件号码, 姓名, slider) → step 2
// (the methods the account has: email link, SMS code) on one page, and the
// contact change request (CC-1) behind 修改邮箱地址 / 修改手机号码.
(function () {
  'use strict';
  var step1 = document.getElementById('step1');
  if (!step1) return;
  var $ = function (id) { return document.getElementById(id); };
  var recoveryId = null;
  var methods = [];
  var changePending = false;
  var captcha = null;
  var token = null;

  function post(url, data) {
    return fetch(url, {
      method: 'POST',
      headers: data === undefined ? { 'Accept': 'application/json' } : { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      credentials: 'same-origin',
      body: data === undefined ? undefined : JSON.stringify(data)
    }).then(answer);
  }
  function answer(r) {
    return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j || {}, error: (j && j.error) || {} }; });
  }
  function text(el, value, kind) {
    el.textContent = value || '';
    el.className = el.className.replace(/\s*\b(good|bad|note)\b/g, '') + (value ? ' ' + (kind || 'bad') : '');
  }
  function fieldMsg(scope, field, value, kind) {
    var el = scope.querySelector('.msg[data-for="' + field + '"]');
    if (el) text(el, value, kind);
  }
  function clearMsgs(scope) {
    scope.querySelectorAll('.msg').forEach(function (el) { text(el, ''); });
  }
  function show(which) {
    ['step1', 'step2', 'change', 'reset-done'].forEach(function (id) { $(id).hidden = id !== which; });
    $('mark-1').classList.toggle('active', which === 'step1');
    $('mark-2').classList.toggle('active', which !== 'step1');
    window.scrollTo(0, 0);
  }

  // ---- Step 1 ----------------------------------------------------------

  if (window.JszgCaptcha) {
    captcha = window.JszgCaptcha.mount($('captcha'), {
      purpose: 'recovery',
      onToken: function (t) { token = t; text($('form-msg'), ''); }
    });
  }

  function backToStep1(message) {
    recoveryId = null;
    token = null;
    show('step1');
    if (captcha) captcha.reset();
    if (message) text($('form-msg'), message);
  }

  $('recover-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var form = $('recover-form');
    clearMsgs(form);
    $('legacy-register').hidden = true;
    var first = null;
    function need(ok, field, msg) { if (!ok) { fieldMsg(form, field, msg); first = first || field; } }
    need($('doc_type').value, 'doc_type', '请选择证件类型。');
    need($('doc_number').value.trim(), 'doc_number', '请填写证件号码。');
    need($('name').value.trim(), 'name', '请填写姓名。');
    if (first) { $(first).focus(); return; }
    if (!token) { text($('form-msg'), '请先向右拖动滑块完成图形验证。'); return; }
    var used = token;
    token = null; // single use, whatever the answer
    $('next').disabled = true;
    post('/api/v1/recoveries', {
      doc_type: $('doc_type').value,
      doc_number: $('doc_number').value,
      name: $('name').value,
      captcha_token: used
    }).then(function (res) {
      $('next').disabled = false;
      if (res.status === 201) {
        recoveryId = res.body.id;
        methods = res.body.methods || [];
        changePending = res.body.contact_change_pending === true;
        startStep2();
        return;
      }
      var e = res.error;
      text($('form-msg'), e.message || '操作失败，请稍后重试。');
      if (e.code === 'legacy_account') $('legacy-register').hidden = false;
      if (captcha) captcha.reset();
    }).catch(function () {
      $('next').disabled = false;
      text($('form-msg'), '网络异常，请稍后重试。');
      if (captcha) captcha.reset();
    });
  });

  // ---- Step 2 ----------------------------------------------------------

  function target(method) {
    for (var i = 0; i < methods.length; i++) if (methods[i].method === method) return methods[i];
    return null;
  }

  function startStep2() {
    var first = null;
    document.querySelectorAll('#step2 label[data-method]').forEach(function (label) {
      var m = label.getAttribute('data-method');
      var has = !!target(m);
      // 微信验证重置密码 is shown even when the account is not bound yet, with the reason.
      label.hidden = !has && label.getAttribute('data-always') !== '1';
      label.querySelector('input').checked = false;
      if (has && !first) first = m;
    });
    $('email-target').textContent = (target('email') || {}).target || '';
    $('sms-target').textContent = (target('sms') || {}).target || '';
    clearMsgs($('step2'));
    text($('email-msg'), '');
    text($('sms-msg'), '');
    $('email-confirm').disabled = false;
    $('panel-sms').reset();
    show('step2');
    if (first) {
      document.querySelector('#step2 input[name="method"][value="' + first + '"]').checked = true;
      choose(first);
    } else {
      choose(null);
      text($('email-msg'), '该账号未绑定可用的联系方式，请参照说明提交修改联系方式申请。');
      $('panel-email').hidden = false;
    }
  }

  function choose(method) {
    $('panel-email').hidden = method !== 'email';
    $('panel-sms').hidden = method !== 'sms';
    $('panel-wechat').hidden = method !== 'wechat';
    var bound = !!target('wechat');
    $('wechat-unbound').hidden = method !== 'wechat' || bound;
    $('wechat-refresh').hidden = method === 'wechat' && !bound;
    if (method === 'wechat' && bound) wechatQr();
    else $('wechat-qr-box').hidden = true;
  }

  // REC-2c: a QR code for the bound WeChat; scanning it brings the reset link to the chat.
  function wechatQr() {
    if (!recoveryId) return;
    text($('wechat-msg'), '');
    post('/api/v1/recoveries/' + encodeURIComponent(recoveryId) + '/wechat').then(function (res) {
      if (expired(res)) return;
      if (res.status === 201) {
        $('wechat-qr').src = res.body.qr_url;
        document.querySelectorAll('[data-dev-wechat]').forEach(function (a) { a.hidden = res.body.qr_url.indexOf('/dev/wechat/') !== 0; });
        $('wechat-qr-box').hidden = false;
        return;
      }
      $('wechat-qr-box').hidden = true;
      text($('wechat-msg'), res.error.message || '微信服务暂时不可用，请稍后重试。', 'bad');
    });
  }
  $('wechat-refresh').addEventListener('click', wechatQr);
  document.querySelectorAll('#step2 input[name="method"]').forEach(function (r) {
    r.addEventListener('change', function () { if (r.checked) choose(r.value); });
  });
  document.querySelectorAll('.back-to-1').forEach(function (b) {
    b.addEventListener('click', function () { backToStep1(''); });
  });

  function expired(res) {
    if (res.status === 410 || res.status === 404) {
      backToStep1(res.error.message || '操作已超时，请重新输入证件类型、证件号码和姓名。');
      return true;
    }
    return false;
  }

  $('email-confirm').addEventListener('click', function () {
    if (!recoveryId) return;
    var btn = this;
    btn.disabled = true;
    post('/api/v1/recoveries/' + encodeURIComponent(recoveryId) + '/email').then(function (res) {
      if (expired(res)) { btn.disabled = false; return; }
      if (res.status === 202) {
        text($('email-msg'), '重置邮件已发送至 ' + $('email-target').textContent + '，链接24小时内有效。请登录邮箱，点击邮件中的链接地址进行密码重置。', 'good');
        // One mail is enough; the applicant can start over for another.
        return;
      }
      btn.disabled = false;
      text($('email-msg'), res.error.message || '发送失败，请稍后重试。');
    }).catch(function () {
      btn.disabled = false;
      text($('email-msg'), '网络异常，请稍后重试。');
    });
  });

  var smsCooldown = 0;
  function smsTick() {
    var btn = $('sms-send');
    if (smsCooldown > 0) { btn.textContent = '重新获取(' + smsCooldown + 's)'; btn.disabled = true; smsCooldown -= 1; setTimeout(smsTick, 1000); }
    else { btn.textContent = '免费获取验证码'; btn.disabled = false; }
  }
  $('sms-send').addEventListener('click', function () {
    if (!recoveryId || smsCooldown > 0) return;
    var form = $('panel-sms');
    $('sms-send').disabled = true;
    post('/api/v1/recoveries/' + encodeURIComponent(recoveryId) + '/sms-code').then(function (res) {
      if (expired(res)) { $('sms-send').disabled = false; return; }
      if (res.status === 202) {
        fieldMsg(form, 'code', '验证码已发送至 ' + $('sms-target').textContent + '，5分钟内有效。', 'good');
        smsCooldown = 60;
        smsTick();
        return;
      }
      $('sms-send').disabled = false;
      fieldMsg(form, 'code', res.error.message || '获取验证码失败，请稍后重试。');
    }).catch(function () {
      $('sms-send').disabled = false;
      fieldMsg(form, 'code', '网络异常，请稍后重试。');
    });
  });

  $('panel-sms').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var form = $('panel-sms');
    if (!recoveryId) return;
    clearMsgs(form);
    text($('sms-msg'), '');
    var first = null;
    function need(ok, field, id, msg) { if (!ok) { fieldMsg(form, field, msg); first = first || id; } }
    need(/^\d{6}$/.test($('sms_code').value.trim()), 'code', 'sms_code', '请输入6位数字验证码。');
    need($('sms_password').value, 'new_password', 'sms_password', '请输入新密码。');
    need($('sms_password_confirm').value === $('sms_password').value, 'new_password_confirm', 'sms_password_confirm', '两次输入的密码不一致。');
    if (first) { $(first).focus(); return; }
    $('sms-confirm').disabled = true;
    post('/api/v1/recoveries/' + encodeURIComponent(recoveryId) + '/sms', {
      code: $('sms_code').value.trim(),
      new_password: $('sms_password').value,
      new_password_confirm: $('sms_password_confirm').value
    }).then(function (res) {
      $('sms-confirm').disabled = false;
      if (res.status === 204) { recoveryId = null; show('reset-done'); return; }
      if (expired(res)) return;
      var e = res.error;
      // One message, where it belongs: at its field when the page has one, else above 确认.
      if (e.field && form.querySelector('.msg[data-for="' + e.field + '"]')) fieldMsg(form, e.field, e.message);
      else text($('sms-msg'), e.message || '重置失败，请稍后重试。');
    }).catch(function () {
      $('sms-confirm').disabled = false;
      text($('sms-msg'), '网络异常，请稍后重试。');
    });
  });

  // ---- Contact change (CC-1) -------------------------------------------

  var kind = 'email';
  var changeCaptcha = null;
  var changeToken = null;
  var changeCooldown = 0;
  var submitted = false;
  var photo = window.JszgPhoto.watch($('handheld'), {
    preview: $('handheld-preview'),
    msg: document.querySelector('#change-form .msg[data-for="handheld"]')
  });

  function sendLabel() { return kind === 'email' ? '邮箱获取验证码' : '免费获取验证码'; }
  function syncSend() {
    $('change-send').disabled = submitted || !changeToken || !$('new_value').value.trim() || changeCooldown > 0;
  }
  function changeTick() {
    if (changeCooldown > 0) { $('change-send').textContent = '重新获取(' + changeCooldown + 's)'; changeCooldown -= 1; setTimeout(changeTick, 1000); }
    else { $('change-send').textContent = sendLabel(); }
    syncSend();
  }

  function openChange(k) {
    kind = k;
    var email = k === 'email';
    $('change-title').textContent = email ? '修改邮箱地址' : '修改手机号码';
    $('change-label').textContent = email ? '新的邮箱地址' : '新的手机号码';
    var input = $('new_value');
    input.type = email ? 'email' : 'tel';
    input.setAttribute('inputmode', email ? 'email' : 'numeric');
    input.placeholder = email ? '---请输入新的电子邮箱地址---' : '请输入11位新的手机号码';
    $('change-note').textContent = email
      ? '提交成功后需经工作人员审核，预计将在1个工作日内完成，审核结果将发送至新的邮箱地址，请及时关注！'
      : '提交成功后需经工作人员审核，预计将在1个工作日内完成，审核结果将发送至新的手机号，请及时关注！';
    $('change-form').reset();
    photo.clear();
    clearMsgs($('change-form'));
    text($('change-msg'), '');
    submitted = false;
    setFormEnabled(true);
    $('change-state').textContent = '待提交';
    changeToken = null;
    changeCooldown = 0;
    $('change-send').textContent = sendLabel();
    show('change');
    // Said at once, before any slider, code or photo.
    if (changePending) {
      setFormEnabled(false);
      text($('change-msg'), '您已提交修改联系方式申请，请耐心等待审核结果通知，在此期间不可反复提交修改申请。');
    }
    var purpose = email ? 'email' : 'sms';
    if (window.JszgCaptcha) {
      var onToken = function (t) { changeToken = t; syncSend(); };
      if (!changeCaptcha) changeCaptcha = window.JszgCaptcha.mount($('change-captcha'), { purpose: purpose, onToken: onToken });
      else { changeCaptcha.configure({ purpose: purpose }); changeCaptcha.reset(); }
    }
    syncSend();
  }

  function setFormEnabled(on) {
    $('change-form').querySelectorAll('input, textarea, #change-submit').forEach(function (el) { el.disabled = !on; });
  }

  $('change-email').addEventListener('click', function () { openChange('email'); });
  $('change-phone').addEventListener('click', function () { openChange('phone'); });
  $('change-back').addEventListener('click', function () {
    show('step2');
  });
  // The new address or number is checked as it is typed (the QQ alias rule among others),
  // with the server's own rules, before the slider and the code.
  var valueTimer = null;
  $('new_value').addEventListener('input', function () {
    fieldMsg($('change-form'), 'new_value', '');
    syncSend();
    clearTimeout(valueTimer);
    var value = $('new_value').value.trim();
    if (!value) return;
    valueTimer = setTimeout(function () {
      var field = kind === 'email' ? 'email' : 'phone';
      var body = { field: field };
      body[field] = value;
      post('/api/v1/accounts/checks', body).then(function (res) {
        if (res.status === 200 && res.body && res.body.ok === false && $('new_value').value.trim() === value) {
          fieldMsg($('change-form'), 'new_value', res.body.message);
        }
      }).catch(function () {});
    }, 300);
  });

  $('change-send').addEventListener('click', function () {
    var form = $('change-form');
    var value = $('new_value').value.trim();
    if (!value) { fieldMsg(form, 'new_value', kind === 'email' ? '请填写新的邮箱地址。' : '请填写新的手机号码。'); return; }
    if (!changeToken) { fieldMsg(form, 'verification_code', '请先向右拖动滑块完成图形验证。'); return; }
    var body = kind === 'email'
      ? { channel: 'email', email: value, purpose: 'contact_change', captcha_token: changeToken }
      : { channel: 'sms', phone: value, purpose: 'contact_change', captcha_token: changeToken };
    changeToken = null; // single use, whatever the answer
    syncSend();
    post('/api/v1/verification-codes', body).then(function (res) {
      if (res.status === 202) {
        if (changeCaptcha) changeCaptcha.rest('验证码已发送。如需重新获取，请点击此处刷新拼图。');
        fieldMsg(form, 'verification_code', '验证码已发送，5分钟内有效。', 'good');
        changeCooldown = 60;
        changeTick();
        return;
      }
      if (changeCaptcha) changeCaptcha.reset();
      var e = res.error;
      if (e.field === 'phone' || e.field === 'email') fieldMsg(form, 'new_value', e.message);
      else fieldMsg(form, 'verification_code', e.message || '获取验证码失败，请稍后重试。');
    }).catch(function () {
      if (changeCaptcha) changeCaptcha.reset();
      fieldMsg(form, 'verification_code', '网络异常，请稍后重试。');
    });
  });

  $('change-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (submitted || !recoveryId) {
      if (!recoveryId) backToStep1('操作已超时，请重新输入证件类型、证件号码和姓名。');
      return;
    }
    var form = $('change-form');
    clearMsgs(form);
    text($('change-msg'), '');
    var first = null;
    function need(ok, field, msg) { if (!ok) { fieldMsg(form, field, msg); first = first || field; } }
    need($('new_value').value.trim(), 'new_value', kind === 'email' ? '请填写新的邮箱地址。' : '请填写新的手机号码。');
    need(/^\d{6}$/.test($('verification_code').value.trim()), 'verification_code', '请输入6位数字验证码。');
    need($('handheld').files && $('handheld').files.length, 'handheld', '请上传本人手持身份照片（JPG格式，小于190KB）。');
    need($('reason').value.trim(), 'reason', '请填写申请的原因。');
    if (first) { $(first).focus(); return; }
    var hint = photo.check();
    if (hint) photo.say(hint, 'bad'); // the server decides; the hint stays visible
    var data = new FormData();
    data.append('kind', kind);
    data.append('new_value', $('new_value').value.trim());
    data.append('verification_code', $('verification_code').value.trim());
    data.append('reason', $('reason').value.trim());
    data.append('handheld', $('handheld').files[0]);
    $('change-submit').disabled = true;
    fetch('/api/v1/recoveries/' + encodeURIComponent(recoveryId) + '/contact-changes', {
      method: 'POST', headers: { 'Accept': 'application/json' }, credentials: 'same-origin', body: data
    }).then(answer).then(function (res) {
      $('change-submit').disabled = false;
      if (res.status === 201) {
        submitted = true;
        setFormEnabled(false);
        syncSend();
        $('change-state').textContent = '待审核';
        changePending = true;
        $('change-dialog-text').textContent = kind === 'email'
          ? '提交成功! 请耐心等待工作人员审核，1个工作日内将审核结果发送至新的邮箱中，请及时查收!'
          : '提交成功! 请耐心等待工作人员审核，1个工作日内将重置结果发送至新的手机短信中，请及时查收!';
        $('change-dialog').showModal();
        return;
      }
      if (expired(res)) return;
      var e = res.error;
      if (res.status === 413) e.message = '上传内容过大（照片应小于190KB），请压缩后重新提交。';
      if (e.field && form.querySelector('.msg[data-for="' + e.field + '"]')) fieldMsg(form, e.field, e.message);
      text($('change-msg'), e.message || '提交失败，请稍后重试。');
      if (e.code === 'enrolled_must_login' || e.code === 'change_pending') {
        submitted = true;
        setFormEnabled(false);
        syncSend();
      }
    }).catch(function () {
      $('change-submit').disabled = false;
      text($('change-msg'), '网络异常，请稍后重试。');
    });
  });

  $('change-dialog-ok').addEventListener('click', function () { $('change-dialog').close(); });
})();
