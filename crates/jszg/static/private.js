// Shared computers: a page restored from the back/forward cache (a browser
// that keeps no-store pages there) is fetched again, so after 退出登录 the
// back button shows what the server says now, not the personal centre.
(function () {
  'use strict';
  window.addEventListener('pageshow', function (ev) {
    if (ev.persisted) window.location.reload();
  });
})();
// Should the tabs ever overflow their row, reveal the current one with as little scrolling as
// possible, so the first tabs stay in sight whenever they can.
(function () {
  'use strict';
  var active = document.querySelector('.tabs .tab.active');
  var row = active && active.parentNode;
  if (!row || row.scrollWidth <= row.clientWidth) return;
  var right = active.offsetLeft - row.offsetLeft + active.offsetWidth;
  if (right > row.clientWidth) row.scrollLeft = right - row.clientWidth + 16;
})();
