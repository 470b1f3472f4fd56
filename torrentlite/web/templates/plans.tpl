% rebase('base.tpl', title='Plans')
<h1>Plans and templates</h1>
<nav class="tabs" aria-label="Plan kinds">
<a href="/plans?kind=plans"{{!' aria-current="page"' if kind == 'plans' else ''}}>Planned runs</a> ·
<a href="/plans?kind=templates"{{!' aria-current="page"' if kind == 'templates' else ''}}>Templates</a>
</nav>
<p class="count">{{'{:,}'.format(total)}} {{'template' if kind == 'templates' else 'plan'}}{{'' if total == 1 else 's'}}</p>
<div class="scroll"><table>
<thead><tr><th scope="col">Name</th><th scope="col">Short ID</th><th scope="col">Status</th><th scope="col">Application</th>
<th scope="col">Chip</th><th scope="col">Created</th><th scope="col">Plugins</th></tr></thead>
<tbody>
% for r in rows:
<tr><td><a href="/plans/{{r['id']}}">{{r['name']}}</a></td><td>{{r['short']}}</td><td>{{r['status']}}</td>
<td>{{r['application']}}</td><td>{{r['chip']}}</td><td>{{r['date']}}</td><td>{{r['plugins']}}</td></tr>
% end
% if not rows:
<tr><td colspan="7">None yet.</td></tr>
% end
</tbody></table></div>
<nav class="pager" aria-label="Pages">
% if page > 1:
<a href="{{link(page - 1)}}" rel="prev">‹ Previous</a>
% end
<span>Page {{page}} of {{last}}</span>
% if page < last:
<a href="{{link(page + 1)}}" rel="next">Next ›</a>
% end
</nav>
