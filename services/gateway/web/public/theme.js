// Apply the saved (or the system's) theme before the app paints, so dark mode never flashes white.
// A separate file rather than an inline script keeps the Content-Security-Policy free of 'unsafe-inline'.
(function () {
  try {
    var saved = localStorage.getItem("ragchat-theme");
    var dark = saved ? saved === "dark" : window.matchMedia("(prefers-color-scheme: dark)").matches;
    if (dark) document.documentElement.classList.add("dark");
  } catch (e) {
    /* Storage blocked: the app applies the system theme when it starts. */
  }
})();
