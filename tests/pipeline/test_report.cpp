// The report page from results.json: well-formed markup, one <svg> per plot,
// escaping, "—" for what was not measured, sections omitted with a note.
#include <doctest/doctest.h>

#include <algorithm>
#include <regex>
#include <vector>

#include "pipeline/html.h"
#include "pipeline/report_html.h"
#include "pipeline/svg_plot.h"
#include "tests/pipeline/report_fixture.h"
#include "util/error.h"

using qtool::pipeline::render_report_html;
using qtool::test::count;
using qtool::test::sample_results;
using nlohmann::json;

namespace {

// Checks the page is well-formed as XML (the page is polyglot markup): every
// tag closed in order, attributes quoted, '&' only in entities, no stray '<'.
// Returns "" or the first problem.
std::string xml_problem(const std::string& page) {
  std::vector<std::string> open;
  size_t i = page.find("<html");
  if (page.rfind("<!DOCTYPE html>", 0) != 0 || i == std::string::npos) return "no doctype or <html>";
  static const std::regex entity(R"(^&(amp|lt|gt|quot|#39);)");
  while (i < page.size()) {
    if (page[i] == '&') {
      if (!std::regex_search(page.substr(i, 8), entity)) return "bare & at " + page.substr(i, 20);
      ++i;
      continue;
    }
    if (page[i] == '>') return "stray > at " + page.substr(i > 20 ? i - 20 : 0, 40);
    if (page[i] != '<') { ++i; continue; }
    size_t end = i + 1;
    char quote = 0;
    for (; end < page.size(); ++end) {
      if (quote) { if (page[end] == quote) quote = 0; continue; }
      if (page[end] == '"' || page[end] == '\'') quote = page[end];
      else if (page[end] == '>') break;
      else if (page[end] == '<') return "< inside a tag at " + page.substr(i, 40);
    }
    if (end == page.size()) return "unterminated tag";
    std::string tag = page.substr(i + 1, end - i - 1);
    static const std::regex name(R"(^/?([a-zA-Z][a-zA-Z0-9-]*))");
    std::smatch m;
    if (!std::regex_search(tag, m, name)) return "bad tag <" + tag + ">";
    if (tag[0] == '/') {
      if (open.empty() || open.back() != m[1].str()) return "</" + m[1].str() + "> closes <" + (open.empty() ? "" : open.back()) + ">";
      open.pop_back();
    } else if (tag.back() != '/') {
      open.push_back(m[1].str());
      if (m[1].str() == "style") {  // CSS is raw text: skip to its end tag
        end = page.find("</style>", end);
        if (end == std::string::npos) return "unclosed <style>";
        if (page.substr(i, end - i).find('&') != std::string::npos) return "& in CSS";
        i = end;
        continue;
      }
    }
    i = end + 1;
  }
  if (!open.empty()) return "<" + open.back() + "> never closed";
  return "";
}

// The <tr> of the variants table whose name cell shows `name` (escaped).
std::string variant_row(const std::string& page, const std::string& name) {
  size_t at = page.find("</span>" + name + "</td>");
  REQUIRE(at != std::string::npos);
  size_t begin = page.rfind("<tr>", at), end = page.find("</tr>", at);
  return page.substr(begin, end - begin);
}

}  // namespace

TEST_CASE("the fixture renders to one well-formed page with every plot") {
  std::string page = render_report_html(sample_results());
  CHECK(xml_problem(page) == "");
  CHECK(count(page, "<svg") == count(page, "</svg>"));
  CHECK(count(page, "<table") == count(page, "</table>"));
  // 1 BLEU-size + 3 heat maps (fp32 is all 32-bit: a note) + 11 histograms + 1 search.
  CHECK(count(page, "<svg") == 16);
  CHECK(count(page, "id=\"bleu-size-plot\"") == 1);
  CHECK(count(page, "id=\"search-plot\"") == 1);
  CHECK(count(page, "class=\"plot heatmap\"") == 3);
  CHECK(count(page, "class=\"plot histogram\"") == 11);
  CHECK(page.find("Every product 32-bit (not drawn): fp32.") != std::string::npos);
  // Every plot carries its tooltip as the first child.
  CHECK(count(page, "role=\"img\" aria-label=") == 16);
  // No external resources, no scripts.
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("src=") == std::string::npos);
  CHECK(page.find("http://") == page.find("http://www.w3.org/"));
  CHECK(page.find("https://") == std::string::npos);
}

TEST_CASE("the header and table carry the run's identity and numbers") {
  std::string page = render_report_html(sample_results());
  CHECK(page.find("qtool pipeline report: demo") != std::string::npos);
  CHECK(page.find("models/ddtp-en-de-tiny") != std::string::npos);
  CHECK(page.find("2026-11-25T10:00:00Z") != std::string::npos);
  std::string int8 = variant_row(page, "int8-kl");
  CHECK(int8.find(">2.85<") != std::string::npos);       // MB
  CHECK(int8.find("3.41× smaller") != std::string::npos);  // 9,696,400 / 2,846,310
  CHECK(int8.find("26.35<span class=\"delta\">−0.20</span>") != std::string::npos);
  CHECK(int8.find(">12850<") != std::string::npos);
  // lowbit-4 has no beam score and no batch-1 latency.
  CHECK(count(variant_row(page, "lowbit-4"), "class=\"missing\">—<") == 2);
  CHECK(count(variant_row(page, "fp32"), "class=\"missing\"") == 0);
}

TEST_CASE("the search trajectory joins every step in order") {
  std::string page = render_report_html(sample_results());
  std::smatch m;
  REQUIRE(std::regex_search(page, m, std::regex(R"re(<path d="(M[^"]*)" class="trajectory")re")));
  std::string d = m[1].str();
  CHECK(count(d, "M") == 1);
  CHECK(count(d, "L") == 5);
  // Step 0 (4.0 bits) is rightmost, step 5 (2.6 bits) leftmost: x falls along the path.
  std::vector<double> xs;
  const std::regex point(R"([ML]([0-9.]+) )");
  for (std::sregex_iterator it(d.begin(), d.end(), point), end; it != end; ++it)
    xs.push_back(std::stod((*it)[1].str()));
  REQUIRE(xs.size() == 6);
  CHECK(std::is_sorted(xs.rbegin(), xs.rend()));
  CHECK(page.find("target 2.6") != std::string::npos);
}

TEST_CASE("a variant without speed shows — in the speed columns") {
  json r = sample_results();
  r["variants"][1].erase("speed");
  r["variants"][2]["speed"] = nullptr;
  std::string page = render_report_html(r);
  CHECK(count(variant_row(page, "int8-kl"), "class=\"missing\">—<") == 3);
  CHECK(count(variant_row(page, "lowbit-2.6"), "class=\"missing\">—<") == 3);
  CHECK(xml_problem(page) == "");
}

TEST_CASE("names from user configs are escaped everywhere") {
  json r = sample_results();
  const std::string evil = "<b>&\"x'</b>";
  r["pipeline"] = evil;
  r["model"] = evil;
  r["variants"][2]["name"] = evil;
  r["variants"][2]["kind"] = evil;
  r["variants"][2]["layers"][3]["tensor"] = evil;
  r["calibration"]["tensors"][0]["name"] = evil;
  r["search"]["steps"][1]["change"] = evil;
  std::string page = render_report_html(r);
  CHECK(page.find(evil) == std::string::npos);
  CHECK(page.find("<b>&") == std::string::npos);
  CHECK(count(page, "&lt;b&gt;&amp;&quot;x&#39;&lt;/b&gt;") >= 7);
  CHECK(xml_problem(page) == "");
}

TEST_CASE("missing sections render as a note, never a crash") {
  json r = sample_results();
  r.erase("calibration");
  r["search"] = nullptr;
  for (auto& v : r["variants"]) v.erase("layers");
  std::string page = render_report_html(r);
  CHECK(page.find("No calibration in this pipeline") != std::string::npos);
  CHECK(page.find("No precision search in this pipeline.") != std::string::npos);
  CHECK(page.find("No variant recorded per-layer bit assignments.") != std::string::npos);
  CHECK(count(page, "<svg") == 1);
  CHECK(xml_problem(page) == "");

  std::string empty = render_report_html(json::object());
  CHECK(empty.find("No variants in results.json.") != std::string::npos);
  CHECK(count(empty, "<svg") == 0);
  CHECK(xml_problem(empty) == "");
  CHECK_THROWS_AS(render_report_html(json::array()), qtool::Error);
}

TEST_CASE("fields of the wrong type read as missing") {
  json r = sample_results();
  r["variants"][0]["bleu"] = 5;
  r["variants"][1]["bytes"] = "big";
  r["variants"][2]["layers"] = json::array({json{{"block", 3}}, json{{"block", "encoder"}, {"layer", "x"}}});
  r["calibration"]["tensors"][0]["histogram"]["counts"] = json::array({"a", nullptr, -4});
  r["calibration"]["tensors"][1]["histogram"] = json::object();
  r["search"]["steps"][0] = 7;
  std::string page;
  REQUIRE_NOTHROW(page = render_report_html(r));
  CHECK(xml_problem(page) == "");
  r["variants"] = "none";
  REQUIRE_NOTHROW(page = render_report_html(r));
  CHECK(page.find("No variants in results.json.") != std::string::npos);
}

TEST_CASE("any one field set to null or removed still renders a well-formed page") {
  const json sample = sample_results();
  const std::regex skipped(R"(/(layers|tensors|steps)/[1-9]|/counts/)");  // one record of each list is enough
  int tried = 0;
  const json flat = sample.flatten();
  for (const auto& [path, value] : flat.items()) {
    if (std::regex_search(path, skipped)) continue;
    for (const std::string& p : {path, path.substr(0, path.rfind('/'))}) {
      if (p.empty()) continue;
      json r = sample;
      r[json::json_pointer(p)] = nullptr;
      std::string page;
      INFO("null at " << p);
      REQUIRE_NOTHROW(page = render_report_html(r));
      CHECK(xml_problem(page) == "");
      ++tried;
    }
  }
  CHECK(tried > 100);
}

TEST_CASE("the clipped share is the mass above the threshold, the cut bin split uniformly") {
  json r = sample_results();
  auto& t = r["calibration"]["tensors"];
  t = json::array({json{{"name", "model.encoder.layers.0.fc1"}, {"one_sided", false}, {"threshold", 2.5}, {"max_abs", 3.9},
                        {"histogram", {{"range", 4.0}, {"counts", {10, 10, 10, 10}}}}}});
  std::string page = render_report_html(r);
  CHECK(page.find("37.50% clipped") != std::string::npos);  // half of bin 2, all of bin 3
  CHECK(page.find("T = 2.5<") != std::string::npos);
  CHECK(page.find("max 3.9<") != std::string::npos);
}

TEST_CASE("hundreds of calibrated tensors: a selection is plotted and the page stays under 2 MB") {
  json r = sample_results();
  json tensors = json::array();
  const char* kinds[] = {"self_attn.q_proj", "self_attn.out_proj", "fc1", "fc2", "self_attn.matmul_qk.q",
                         "self_attn.matmul_qk.k", "self_attn.matmul_pv.p", "self_attn.matmul_pv.v"};
  std::vector<int> counts(2048);
  for (size_t i = 0; i < counts.size(); ++i) counts[i] = static_cast<int>(1e6 / (1.0 + static_cast<double>(i * i)));
  for (const char* block : {"encoder", "decoder"})
    for (int layer = 0; layer < 24; ++layer)
      for (const char* k : kinds)
        tensors.push_back({{"name", std::string("model.") + block + ".layers." + std::to_string(layer) + "." + k},
                           {"one_sided", false}, {"threshold", 1.0 + layer * 0.1}, {"max_abs", 20.0},
                           {"histogram", {{"range", 20.48}, {"counts", counts}}}});
  r["calibration"]["tensors"] = tensors;  // 384 tensors × 2048 bins
  std::string page = render_report_html(r);
  CHECK(page.size() < 2'000'000);
  // 16 first-layer kinds + the 6 most clipped (layer 1, the lowest thresholds after layer 0).
  CHECK(count(page, "class=\"plot histogram\"") == 22);
  CHECK(page.find("All 384 calibrated tensors") != std::string::npos);
  CHECK(count(page, "(most clipped)") == 6);
  CHECK(page.find("<title>model.encoder.layers.1.self_attn.q_proj") != std::string::npos);
  CHECK(xml_problem(page) == "");
}

TEST_CASE("svg helpers: round ticks, log ticks, bit colours, escaping") {
  using namespace qtool::pipeline;
  CHECK(nice_ticks(0, 4.9, 4) == std::vector<double>{0, 1, 2, 3, 4});
  CHECK(nice_ticks(22.5, 29.5, 6) == std::vector<double>{23, 24, 25, 26, 27, 28, 29});
  auto [lo, hi] = nice_domain(22.4, 29.3, 6);
  CHECK(lo == doctest::Approx(22));
  CHECK(hi == doctest::Approx(30));
  CHECK(log_ticks(0.9, 12.0) == std::vector<double>{1, 2, 5, 10});
  CHECK(log_ticks(1, 1e6) == std::vector<double>{1, 10, 100, 1000, 1e4, 1e5, 1e6});
  CHECK(tick_label(1e6) == "1M");
  CHECK(tick_label(20000) == "20k");
  CHECK(tick_label(0.5) == "0.5");
  CHECK(bits_color(1) == "#440154");
  CHECK(bits_color(8) == "#fde725");
  CHECK(bits_color(32) == "#d9d9d9");
  CHECK(bits_color(2.31) != bits_color(2));
  CHECK(bits_color(2.31) != bits_color(3));
  CHECK(escape_html("a<b&\"c'") == "a&lt;b&amp;&quot;c&#39;");
  CHECK(thousands(9696400) == "9,696,400");
  Scale log{1, 100, 0, 200, true};
  CHECK(log(10) == doctest::Approx(100));
}
