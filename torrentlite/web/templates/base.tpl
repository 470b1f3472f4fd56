<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}} · torrentlite</title>
<link rel="stylesheet" href="/static/site.css">
% if get('plots'):
<link rel="stylesheet" href="/static/vendor/uplot/uPlot.min.css">
<script src="/static/vendor/uplot/uPlot.iife.min.js" defer></script>
<script src="/static/plots.js" defer></script>
% end
<script src="/static/vendor/htmx/htmx.min.js" defer></script>
% if visitor:
<meta name="csrf-token" content="{{visitor.session.csrf}}">
<script src="/static/site.js" defer></script>
% end
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/runs">torrentlite</a>
  % if visitor:
  <nav aria-label="Main">
    % for href, label in (("/runs", "Runs"), ("/plugins", "Plugins"), ("/jobs", "Jobs"), ("/plans", "Plans"), ("/status", "Status")):
    <a href="{{href}}"{{!' aria-current="page"' if path.startswith(href) else ''}}>{{label}}</a>
    % end
  </nav>
  <div class="who">
    <a href="/user">{{visitor.user.username}}</a>
    <form method="post" action="/logout" class="inline">
      <input type="hidden" name="csrf_token" value="{{visitor.session.csrf}}">
      <button type="submit" class="link">Sign out</button>
    </form>
  </div>
  % end
</header>
<main id="main" tabindex="-1">
% if notice:
<p class="notice" role="status">{{notice}}</p>
% end
% if error:
<p class="error" role="alert">{{error}}</p>
% end
{{!base}}
</main>
<footer>torrentlite {{version}}</footer>
</body>
</html>
