% rebase('base.tpl', title=title)
<p class="crumbs"><a href="/plans">Plans</a> › plan</p>
<h1>{{title}}</h1>
<dl class="facts card">
% for label, value in facts:
<dt>{{label}}</dt><dd>{{value}}</dd>
% end
</dl>
<h2>Selected plugins</h2>
% if not selected:
<p>This plan runs no plugin.</p>
% end
% for s in selected:
<article class="plugin">
<header><h3>{{s['name']}}</h3>
% if s['version']:
<span class="hint">v{{s['version']}}</span>
% end
% if not s['installed']:
<span class="state state-Error">not installed</span>
% end
</header>
<div class="body">
% if s['config']:
<p>Settings in this plan: <code>{{s['config']}}</code></p>
% end
% if s['plan_page']:
<iframe src="{{s['plan_page']}}" title="{{s['name']}} plan settings"></iframe>
% elif s['installed']:
<p class="hint">This plugin has no plan page.</p>
% end
</div>
</article>
% end
