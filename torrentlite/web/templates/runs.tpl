% rebase('base.tpl', title='Runs')
<h1>Runs</h1>
<form method="get" action="/runs" class="filters" role="search" aria-label="Find runs">
  <div><label for="q">Report name contains</label><input id="q" name="q" type="search" value="{{form['q']}}"></div>
  <div><label for="status">Status</label>
    <select id="status" name="status"><option value="">any</option>
    % for s in statuses:
      <option{{!' selected' if form['status'] == s else ''}}>{{s}}</option>
    % end
    </select></div>
  <div><label for="project">Project</label>
    <select id="project" name="project"><option value="">any</option>
    % for p in projects:
      <option{{!' selected' if form['project'] == p else ''}}>{{p}}</option>
    % end
    </select></div>
  <div><label for="instrument">Instrument</label>
    <select id="instrument" name="instrument"><option value="">any</option>
    % for p in instruments:
      <option{{!' selected' if form['instrument'] == p else ''}}>{{p}}</option>
    % end
    </select></div>
  <div><label for="chip">Chip</label>
    <select id="chip" name="chip"><option value="">any</option>
    % for p in chips:
      <option{{!' selected' if form['chip'] == p else ''}}>{{p}}</option>
    % end
    </select></div>
  <div><label for="from">From</label><input id="from" name="from" type="date" value="{{form['from']}}"></div>
  <div><label for="to">To</label><input id="to" name="to" type="date" value="{{form['to']}}"></div>
  <div><label for="sort">Sort</label>
    <select id="sort" name="sort">
    % for s in sorts:
      <option value="{{s}}"{{!' selected' if (form['sort'] or 'newest') == s else ''}}>{{s.replace('-desc', ' (Z–A)')}}</option>
    % end
    </select></div>
  <div class="actions"><button type="submit">Apply</button> <a href="/runs">Clear</a></div>
</form>
% for p in problems:
<p class="error" role="alert">{{p}}</p>
% end
<p class="count" id="count">{{'more than ' if not exact else ''}}{{'{:,}'.format(total)}} report{{'' if total == 1 and exact else 's'}}</p>
<div class="scroll">
<div class="scroll"><table class="list" aria-describedby="count">
<thead><tr><th scope="col">Report</th><th scope="col">Date</th><th scope="col">Status</th>
<th scope="col">Instrument</th><th scope="col">Chip</th><th scope="col" class="num">Reads</th>
<th scope="col" class="num">Q20 bases</th><th scope="col">Projects</th></tr></thead>
<tbody>
% for r in rows:
<tr><td><a href="/report/{{r['id']}}">{{r['name']}}</a></td><td>{{r['when']}}</td>
<td><span class="state state-{{r['status'].replace(' ', '-')}}">{{r['status']}}</span></td>
<td>{{r['instrument']}}</td><td>{{r['chip']}}</td><td class="num">{{r['reads']}}</td><td class="num">{{r['q20']}}</td>
<td>{{r['projects']}}</td></tr>
% end
% if not rows:
<tr><td colspan="8">No report matches.</td></tr>
% end
</tbody></table></div>
</div>
<nav class="pager" aria-label="Pages">
% if page > 1:
<a href="{{page_link(page - 1)}}" rel="prev">‹ Previous</a>
% end
<span>Page {{page}}{{!' of {:,}'.format(pages_count) if exact else ''}}</span>
% if page < pages_count:
<a href="{{page_link(page + 1)}}" rel="next">Next ›</a>
% end
</nav>
