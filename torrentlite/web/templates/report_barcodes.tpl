% if data['barcodes']:
<section aria-labelledby="barcodes-h">
<h2 id="barcodes-h">Barcodes</h2>
<div class="scroll"><table>
<thead><tr><th scope="col">Barcode</th><th scope="col">Sample</th><th scope="col" class="num">Reads</th>
<th scope="col" class="num">Mapped reads</th><th scope="col" class="num">Q20 bases</th>
<th scope="col" class="num">Mean aligned length</th><th scope="col">BAM</th></tr></thead>
<tbody>
% for b in data['barcodes']:
<tr><td>{{b['barcode']}}</td><td>{{b['sample']}}</td><td class="num">{{'{:,}'.format(b['reads'])}}</td>
<td class="num">{{b['mapped']}}</td><td class="num">{{b['q20_bases']}}</td><td class="num">{{b['mean_length']}}</td>
<td>
% if b['bam']:
<a href="{{b['bam']}}" download>BAM</a>
% else:
<span class="hint">none</span>
% end
</td></tr>
% end
</tbody></table></div>
</section>
% end
