<section aria-labelledby="plots-h">
<h2 id="plots-h">Plots</h2>
<div class="grid">
% for key, heading, xlabel, ylabel in (('wells', 'ISP loading: wells by class', 'Well class', 'Wells'), ('lengths', 'Read length', 'Read length (bp)', 'Reads'), ('bases', 'Total and Q20 bases', 'Quality', 'Bases'), ('barcodes', 'Reads per barcode', 'Barcode', 'Reads')):
% if data['plots'][key]:
<figure class="card plot" data-plot="{{key}}" data-xlabel="{{xlabel}}" data-ylabel="{{ylabel}}">
  <h3>{{heading}}</h3>
  <div class="canvas" role="img" aria-label="{{heading}} bar chart; the table below has the values"></div>
  <table class="values"><caption class="sr">{{heading}}</caption>
  <thead><tr><th scope="col">{{xlabel}}</th><th scope="col" class="num">{{ylabel}}</th></tr></thead>
  <tbody>
  % for label, value in data['plots'][key]:
  <tr><td>{{label}}</td><td class="num">{{'{:,}'.format(value)}}</td></tr>
  % end
  </tbody></table>
</figure>
% end
% end
</div>
</section>
