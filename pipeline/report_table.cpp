// The variants table: one row per variant, bits per block, size, BLEU, speed.
#include <optional>
#include <set>

#include "pipeline/html.h"
#include "pipeline/report_sections.h"
#include "pipeline/svg_plot.h"

namespace qtool::pipeline {

namespace {

std::string cell(const std::optional<double>& v, int decimals, const std::string& tooltip = "") {
  if (!v) return "<td class=\"missing\">—</td>";
  std::string td = "<td class=\"num\"";
  if (!tooltip.empty()) td += " title=\"" + escape_html(tooltip) + "\"";
  return td + ">" + fixed(*v, decimals) + "</td>";
}

// BLEU with its difference from the FP32 reference, when there is one.
std::string bleu_cell(const std::optional<double>& v, const std::optional<double>& ref,
                      const std::string& suffix = "") {
  if (!v) return cell(v, 2);
  std::string td = "<td class=\"num\">" + fixed(*v, 2);
  if (ref) {
    double d = *v - *ref;
    td += "<span class=\"delta\">" + std::string(d < 0 ? "−" : "+") + fixed(d < 0 ? -d : d, 2) + "</span>";
  }
  return td + suffix + "</td>";
}

// The FP32 variant's scores: the first variant of kind fp32.
const nlohmann::json* reference_variant(const nlohmann::json& variants) {
  for (const auto& v : variants)
    if (text(v, "kind") == "fp32") return &v;
  return nullptr;
}

}  // namespace

std::string variants_table(const nlohmann::json& r) {
  const nlohmann::json& variants = array(r, "variants");
  if (variants.empty()) return note("No variants in results.json.");
  const nlohmann::json* ref = reference_variant(variants);
  std::optional<double> ref_greedy, ref_beam;
  if (ref && member(*ref, "bleu")) {
    ref_greedy = number((*ref)["bleu"], "greedy");
    ref_beam = number((*ref)["bleu"], "beam");
  }
  std::optional<double> fp32_bytes = number(r, "fp32_bytes");

  // One beam size and one bench setting for all variants go in the header; if
  // they differ, each cell says its own.
  std::set<std::string> beam_sizes, settings;
  for (const auto& v : variants) {
    if (const auto* b = member(v, "bleu"); b && number(*b, "beam")) beam_sizes.insert(text(*b, "beam_size"));
    if (const auto* s = member(v, "speed"))
      settings.insert("batch " + text(*s, "batch") + ", " + text(*s, "threads") + " threads");
  }
  std::string beam_head = beam_sizes.size() == 1 && !beam_sizes.begin()->empty()
                              ? "beam " + escape_html(*beam_sizes.begin()) : "beam";
  std::string speed_head = settings.size() == 1 ? escape_html(*settings.begin()) : "per variant";

  std::string h = "<div class=\"scroll\"><table id=\"variants-table\">\n<thead><tr>"
                  "<th rowspan=\"2\">variant</th><th rowspan=\"2\">kind</th>"
                  "<th colspan=\"4\">average bits per weight</th>"
                  "<th colspan=\"2\">model size</th><th colspan=\"2\">BLEU (test)</th>"
                  "<th>tokens/s</th><th>batch-1 latency</th><th>peak RSS</th></tr>\n<tr>"
                  "<th>embedding</th><th>encoder</th><th>decoder</th><th>all</th>"
                  "<th>MB</th><th>vs FP32</th><th>greedy</th><th>" + beam_head + "</th>"
                  "<th>" + speed_head + "</th><th>ms / sentence</th><th>MiB</th></tr></thead>\n<tbody>\n";
  for (const auto& v : variants) {
    std::string kind = text(v, "kind");
    h += "<tr><td class=\"name\" title=\"" + escape_html(text(v, "path")) + "\"><span class=\"swatch\" style=\"background:" +
         kind_color(kind) + "\"></span>" + escape_html(text(v, "name")) + "</td><td>" +
         (kind.empty() ? std::string(kMissing) : escape_html(kind)) + "</td>";
    const nlohmann::json empty = nlohmann::json::object();
    const auto* bits = member(v, "average_bits");
    for (const char* block : {"embedding", "encoder", "decoder", "all"}) h += cell(number(bits ? *bits : empty, block), 2);
    std::optional<double> bytes = number(v, "bytes");
    h += cell(bytes ? std::optional<double>(*bytes / 1e6) : std::nullopt, 2,
              bytes ? thousands(*bytes) + " bytes" : "");
    if (bytes && fp32_bytes && *bytes > 0)
      h += "<td class=\"num\">" + fixed(*fp32_bytes / *bytes, 2) + "× smaller</td>";
    else
      h += cell(std::nullopt, 0);
    const auto* bleu = member(v, "bleu");
    h += bleu_cell(number(bleu ? *bleu : empty, "greedy"), ref == &v ? std::nullopt : ref_greedy);
    std::optional<double> beam = number(bleu ? *bleu : empty, "beam");
    std::string own_size = beam_sizes.size() > 1 && bleu
                               ? "<span class=\"delta\">(beam " + escape_html(text(*bleu, "beam_size")) + ")</span>" : "";
    h += bleu_cell(beam, ref == &v ? std::nullopt : ref_beam, own_size);
    const auto* speed = member(v, "speed");
    std::string setting = speed ? "batch " + text(*speed, "batch") + ", " + text(*speed, "threads") + " threads" : "";
    h += cell(number(speed ? *speed : empty, "tokens_per_second"), 0, setting);
    h += cell(number(speed ? *speed : empty, "batch1_ms_per_sentence"), 1, "batch 1");
    h += cell(number(speed ? *speed : empty, "peak_rss_mib"), 1);
    h += "</tr>\n";
  }
  h += "</tbody></table></div>\n";
  if (const auto* test = member(r, "test")) {
    h += "<p class=\"note\">BLEU on " + escape_html(text(*test, "src")) + " against " + escape_html(text(*test, "ref")) +
         (number(*test, "sentences") ? " (" + thousands(*number(*test, "sentences")) + " sentences)" : "") +
         "; the small number after a score is its difference from FP32. “—”: not measured.</p>\n";
  }
  return h;
}

}  // namespace qtool::pipeline
