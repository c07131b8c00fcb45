// Shared computers: a page restored from the back/forward cache (a browser
// that keeps no-store pages there) is fetched again, so after 退出登录 the
// back button shows what the server says now, not the personal centre.
(function () {
  'use strict';
  window.addEventListener('pageshow', function (ev) {
    if (ev.persisted) window.location.reload();
  });
})();
// The personal centre's tabs scroll in one row on a phone: show the current one.
(function () {
  'use strict';
  var active = document.querySelector('.tabs .tab.active');
  var row = active && active.parentNode;
  if (row && row.scrollWidth > row.clientWidth) row.scrollLeft = active.offsetLeft - row.offsetLeft - 16;
})();
