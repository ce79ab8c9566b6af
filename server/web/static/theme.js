// theme.js applies the saved theme before the page first paints (app.js
// changes it later); "auto" follows the system.
try {
  const theme = JSON.parse(localStorage.getItem('nanochat.settings') || '{}').theme;
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
} catch { /* no storage: follow the system */ }
