<section aria-labelledby="summary-h" class="grid">
<div class="card">
<h2 id="summary-h">Run and analysis</h2>
<dl class="facts">
% for label, value in data['facts']:
  <dt>{{label}}</dt><dd>{{value}}</dd>
% end
</dl>
</div>
<div class="card">
<h2>Key metrics</h2>
% if data['metrics']:
<dl class="facts">
% for label, value in data['metrics']:
  <dt>{{label}}</dt><dd class="metric">{{value}}</dd>
% end
</dl>
% else:
<p>This report has no metrics yet.</p>
% end
</div>
</section>
