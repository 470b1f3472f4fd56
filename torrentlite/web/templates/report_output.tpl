<section aria-labelledby="output-h">
<h2 id="output-h">Output files</h2>
% if data['result'].get('reportLink'):
<p><a href="{{data['result']['reportLink']}}">Browse all files of this report</a></p>
% end
<p><a href="/rundb/api/v1/results/{{data['result']['id']}}/report/">Report summary as PDF</a></p>
% if data['downloads']:
<ul class="downloads">
% for d in data['downloads']:
<li><a href="{{d['href']}}">{{d['label']}}</a> <span class="hint">{{d['size']}}</span></li>
% end
</ul>
% else:
<p>No output files are on this server for this report.</p>
% end
</section>
