// 审核系统: decisions cannot be undone, so each decision button asks first;
// 不通过 without a reason points at the reason box instead of submitting.
(function () {
  'use strict';
  document.addEventListener('click', function (event) {
    var button = event.target.closest ? event.target.closest('button[data-confirm]') : null;
    if (!button) return;
    var needs = button.getAttribute('data-needs');
    if (needs) {
      var box = document.getElementById(needs);
      if (box && !box.value.trim()) {
        event.preventDefault();
        var msg = document.getElementById('reason-msg');
        if (!msg) {
          msg = document.createElement('p');
          msg.id = 'reason-msg';
          msg.className = 'msg bad';
          msg.setAttribute('role', 'alert');
          box.insertAdjacentElement('afterend', msg);
        }
        msg.textContent = '请点击常见原因，或填写不通过原因。';
        box.focus();
        return;
      }
    }
    if (!window.confirm(button.getAttribute('data-confirm'))) event.preventDefault();
  });
})();
