% rebase('base.tpl', title='Jobs')
<h1>Plugin jobs</h1>
% include('jobs_active.tpl')
<h2>Finished in the last day</h2>
<div class="scroll"><table>
<thead><tr><th scope="col">Job</th><th scope="col">Plugin</th><th scope="col">Report</th><th scope="col">State</th>
<th scope="col">Ended</th><th scope="col">Elapsed</th><th scope="col">Wall</th><th scope="col">CPU</th>
<th scope="col">Peak memory</th><th scope="col">Reason</th></tr></thead>
<tbody>
% for j in finished:
<tr><td>{{j['jobid']}}</td><td>{{j['plugin']}} {{j['version']}}</td>
<td><a href="/report/{{j['report']}}#plugin-{{j['pluginresult']}}">{{j['report_name']}}</a></td>
<td><span class="state state-{{j['state'].replace(' ', '-')}}">{{j['state']}}</span></td><td>{{j['end']}}</td>
<td>{{j['elapsed']}}</td><td>{{j['wall']}}</td><td>{{j['cpu']}}</td><td>{{j['memory']}}</td><td>{{j['reason']}}</td></tr>
% end
% if not finished:
<tr><td colspan="10">No job finished in the last day.</td></tr>
% end
</tbody></table></div>
