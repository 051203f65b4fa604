// Per-layer bit assignments as heat maps, one per variant: rows are the
// embedding, encoder layers, decoder layers and the output projection; columns
// the sub-layer products. Colour encodes bits (legend for 1, 2, 3, 4, 8, 32).
#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <vector>

#include "pipeline/html.h"
#include "pipeline/report_sections.h"
#include "pipeline/svg_plot.h"

namespace qtool::pipeline {

namespace {

struct Column {
  std::string tensor, group, label;
};

// The products of an encoder or decoder layer, in reading order.
std::vector<Column> known_columns() {
  std::vector<Column> c;
  for (const char* p : {"q", "k", "v", "out"}) c.push_back({std::string("self_attn.") + p + "_proj", "self-attention", p});
  for (const char* p : {"q", "k", "v", "out"})
    c.push_back({std::string("encoder_attn.") + p + "_proj", "cross-attention", p});
  c.push_back({"fc1", "feed-forward", "fc1"});
  c.push_back({"fc2", "feed-forward", "fc2"});
  return c;
}

struct Cell {
  std::string tensor, type;
  std::optional<double> bits;
};

struct Row {
  std::string label;
  bool whole = false;  // embedding and output projection: one product across all columns
  std::vector<Cell> cells;
};

std::string cell_tooltip(const std::string& row, const Cell& c) {
  return row + " " + c.tensor + ": " + (c.type.empty() ? "?" : c.type) + ", " +
         (c.bits ? compact_number(*c.bits, 2) + " bits" : std::string("bits not recorded"));
}

std::string heatmap(const nlohmann::json& variant, int index) {
  std::vector<Column> columns = known_columns();
  std::map<std::string, int> rank;  // block order; unknown blocks after the known ones
  for (const char* b : {"embedding", "encoder", "decoder", "output_projection"}) rank[b] = static_cast<int>(rank.size());
  std::map<std::pair<int, std::string>, Row> rows;  // (block rank, layer) -> row
  std::map<std::string, int> unknown_rank;
  for (const auto& l : array(variant, "layers")) {
    std::string block = text(l, "block");
    int r = rank.count(block) ? rank[block] : 10 + unknown_rank.emplace(block, unknown_rank.size()).first->second;
    std::optional<double> layer = number(l, "layer");
    bool whole = block == "embedding" || block == "output_projection" || !layer;
    char key[32];
    std::snprintf(key, sizeof key, "%08d", layer ? static_cast<int>(*layer) : -1);
    Row& row = rows[{r, key}];
    row.whole = whole;
    row.label = block == "output_projection" ? "output projection" : block;
    if (layer) row.label += '.' + compact_number(*layer, 0);
    Cell c{text(l, "tensor"), text(l, "type"), number(l, "bits")};
    row.cells.push_back(c);
    if (!whole && std::none_of(columns.begin(), columns.end(), [&](const Column& k) { return k.tensor == c.tensor; }))
      columns.push_back({c.tensor, "other", c.tensor});
  }
  // Drop the cross-attention columns when no layer has them (encoder-only maps).
  std::vector<Column> used;
  for (const Column& k : columns) {
    bool any = k.group != "cross-attention";
    for (const auto& [key, row] : rows)
      for (const Cell& c : row.cells) any = any || (!row.whole && c.tensor == k.tensor);
    if (any) used.push_back(k);
  }

  const double label_w = 116, cw = 40, ch = 24, top = 40;
  const double grid_w = cw * static_cast<double>(used.size());
  const double W = label_w + grid_w + 12, grid_bottom = top + ch * static_cast<double>(rows.size());
  const double H = grid_bottom + 64;
  std::string name = text(variant, "name");
  Svg svg(W, H, "bits-heatmap-" + std::to_string(index), "plot heatmap", "Bits per product: " + name);

  // Two header lines: the group over its columns, then each column's label.
  for (size_t i = 0; i < used.size();) {
    size_t j = i;
    while (j < used.size() && used[j].group == used[i].group) ++j;
    double x0 = label_w + cw * static_cast<double>(i), x1 = label_w + cw * static_cast<double>(j);
    svg.text((x0 + x1) / 2, 14, used[i].group == "other" ? "" : used[i].group, "middle", "small");
    if (used[i].group != "other") svg.line(x0 + 3, 18, x1 - 3, 18, "axis");
    for (size_t k = i; k < j; ++k) {
      std::string lab = used[k].label.size() > 7 ? used[k].label.substr(0, 6) + "…" : used[k].label;
      svg.text(label_w + cw * (static_cast<double>(k) + 0.5), 32, lab, "middle", "tick");
    }
    i = j;
  }

  double y = top;
  for (const auto& [key, row] : rows) {
    svg.text(label_w - 8, y + ch / 2 + 4, row.label, "end", "tick");
    if (row.whole) {
      double w = grid_w / static_cast<double>(row.cells.size());
      for (size_t i = 0; i < row.cells.size(); ++i) {
        const Cell& c = row.cells[i];
        double x = label_w + w * static_cast<double>(i), b = c.bits.value_or(32);
        svg.rect(x, y, w, ch, bits_color(b), cell_tooltip(row.label, c), "cell");
        std::string t = c.tensor + " · " + c.type + " " + (c.bits ? compact_number(*c.bits, 2) : std::string("?"));
        if (text_width(t, 11) > w - 8) t = c.bits ? compact_number(*c.bits, 2) : "?";
        svg.text(x + w / 2, y + ch / 2 + 4, t, "middle", bits_label_class(b));
      }
    } else {
      for (size_t k = 0; k < used.size(); ++k) {
        double x = label_w + cw * static_cast<double>(k);
        auto it = std::find_if(row.cells.begin(), row.cells.end(), [&](const Cell& c) { return c.tensor == used[k].tensor; });
        if (it == row.cells.end()) {
          svg.rect(x, y, cw, ch, "", row.label + " has no " + used[k].tensor, "absent");
          continue;
        }
        double b = it->bits.value_or(32);
        svg.rect(x, y, cw, ch, bits_color(b), cell_tooltip(row.label, *it), "cell");
        svg.text(x + cw / 2, y + ch / 2 + 4, it->bits ? compact_number(*it->bits, 2) : "?", "middle", bits_label_class(b));
      }
    }
    y += ch;
  }

  // Colour legend: the bit widths the quantizer produces; averages fall between.
  double ly = grid_bottom + 18, lx = label_w;
  svg.text(label_w - 8, ly + 13, "bits", "end", "axis-title");
  for (double b : legend_bits()) {
    svg.rect(lx, ly, 30, 18, bits_color(b), "", "cell");
    svg.text(lx + 15, ly + 13, compact_number(b, 0), "middle", bits_label_class(b));
    lx += 32;
  }
  svg.rect(lx + 8, ly, 30, 18, "", "not in this layer", "absent");
  svg.text(lx + 44, ly + 13, "not in layer", "start", "small");
  svg.text(label_w, ly + 36, "clustered embeddings show their average bits", "start", "small");
  return "<div class=\"card\"><h3>" + escape_html(name) + "</h3>" + svg.finish() + "</div>\n";
}

}  // namespace

std::string bit_heatmaps(const nlohmann::json& r) {
  std::string maps, unquantized;
  int index = 0;
  for (const auto& v : array(r, "variants")) {
    const nlohmann::json& layers = array(v, "layers");
    if (layers.empty()) continue;
    bool all_fp32 = std::all_of(layers.begin(), layers.end(), [](const nlohmann::json& l) {
      auto b = number(l, "bits");
      return b && *b >= 32;
    });
    if (all_fp32) {
      unquantized += (unquantized.empty() ? "" : ", ") + text(v, "name");
      continue;
    }
    maps += heatmap(v, index++);
  }
  if (maps.empty() && unquantized.empty()) return note("No variant recorded per-layer bit assignments.");
  std::string h;
  if (!maps.empty()) h += "<div class=\"plots\">\n" + maps + "</div>\n";
  if (!unquantized.empty()) h += note("Every product 32-bit (not drawn): " + unquantized + ".");
  return h;
}

}  // namespace qtool::pipeline
