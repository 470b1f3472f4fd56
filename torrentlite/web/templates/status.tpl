% rebase('base.tpl', title='Status')
<h1>Server status</h1>
<dl class="facts card">
% for label, value in facts:
<dt>{{label}}</dt><dd>{{value}}</dd>
% end
</dl>
<h2>Report storage</h2>
<table>
<thead><tr><th scope="col">Storage</th><th scope="col">Folder</th><th scope="col">Disk</th></tr></thead>
<tbody>
% for s in storages:
<tr><td>{{s['name']}}</td><td><code>{{s['path']}}</code></td><td>{{s['disk']}}</td></tr>
% end
</tbody></table>
