// The rendered fixture in a real browser: Debian's chromium, headless. The page
// itself carries no script, so the test loads it three ways:
//  1. as is, --dump-dom: no console message at all (a failed resource, a CSP or
//     parse complaint would log one), and every plot's <svg> in the DOM;
//  2. a copy with a probe script appended: after layout, every plot has a size,
//     every text lies inside its plot and clear of every other text in it, no
//     resource was fetched or failed to load, no script error; the probe writes its findings into the DOM;
//  3. the same bytes as .xhtml: the strict XML parser accepts the page (an
//     unclosed tag or bare '&' would show a <parsererror>).
// The files stay in the build directory (report-sample.html) for a look or a
// screenshot (scripts/screenshot-report.sh).
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>

#include "pipeline/report_html.h"
#include "tests/pipeline/report_fixture.h"
#include "util/file.h"

using qtool::test::count;
namespace fs = std::filesystem;

namespace {

const fs::path kDir = fs::path(QTOOL_TEST_BINARY_DIR) / "browser";

std::string chromium() {
  const char* env = std::getenv("QTOOL_CHROMIUM");
  return env && *env ? env : "chromium";
}

// Loads `file` headless and returns the DOM after the load event; the browser's
// log goes to <file>.log.
std::string dump_dom(const fs::path& file) {
  fs::path dom = file.string() + ".dom", log = file.string() + ".log";
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  std::string cmd = "timeout 120 " + chromium() +
                    " --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions"
                    " --user-data-dir='" + (kDir / "profile").string() + "'"
                    " --enable-logging=stderr --v=0 --window-size=1280,900"
                    " --dump-dom 'file://" + file.string() + "' >'" + dom.string() + "' 2>'" + log.string() + "'";
  int status = std::system(cmd.c_str());
  INFO("command: " << cmd);
  INFO("log: " << qtool::read_text_file(log.string()));
  REQUIRE(status == 0);
  return qtool::read_text_file(dom.string());
}

// Console lines the page caused: "[…:INFO:CONSOLE:1] "message", source: file://… (1)".
std::string console_lines(const fs::path& file) {
  std::string log = qtool::read_text_file(file.string() + ".log"), lines;
  size_t at = 0;
  while ((at = log.find(":CONSOLE", at)) != std::string::npos) {
    size_t begin = log.rfind('\n', at), end = log.find('\n', at);
    lines += log.substr(begin == std::string::npos ? 0 : begin + 1, end - begin) + "\n";
    at = end;
  }
  return lines;
}

// First in <head>: records script errors and resources that failed to load.
constexpr const char* kErrorListener = R"JS(<script>
window.qtoolErrors = [];
addEventListener('error', e => qtoolErrors.push(e.message || 'failed to load ' + (e.target.src || e.target.href)), true);
</script>)JS";

// Runs after layout; reports what a reader would see wrong.
constexpr const char* kProbe = R"JS(<script>
addEventListener('load', () => {
  const out = {plots: [], problems: [], errors: qtoolErrors,
               resources: performance.getEntriesByType('resource').map(r => r.name)};
  const overlap = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  for (const svg of document.querySelectorAll('svg')) {
    const box = svg.getBoundingClientRect();
    out.plots.push(svg.id);
    if (box.width < 100 || box.height < 100) out.problems.push(svg.id + ' is ' + box.width + 'x' + box.height);
    for (const t of svg.querySelectorAll('text')) {
      const b = t.getBoundingClientRect();
      if (b.width > 0 && (b.left < box.left - 1 || b.right > box.right + 1 || b.top < box.top - 1 || b.bottom > box.bottom + 1))
        out.problems.push(svg.id + ': "' + t.textContent + '" sticks out of the plot');
    }
    const r = [...svg.querySelectorAll('text')].map(t => [t.textContent, t.getBoundingClientRect()]).filter(x => x[1].width > 0);
    for (let i = 0; i < r.length; ++i)
      for (let j = i + 1; j < r.length; ++j)
        if (overlap(r[i][1], r[j][1])) out.problems.push(svg.id + ': "' + r[i][0] + '" overlaps "' + r[j][0] + '"');
  }
  const pre = document.createElement('pre');
  pre.id = 'qtool-probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>)JS";

std::string unescape_text(std::string s) {
  for (auto [from, to] : {std::pair{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&amp;", "&"}}) {
    for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += 1) s.replace(at, std::string(from).size(), to);
  }
  return s;
}

}  // namespace

TEST_CASE("the fixture's report loads in headless Chromium without errors, with every plot drawn") {
  REQUIRE_MESSAGE(std::system(("command -v " + chromium() + " >/dev/null").c_str()) == 0,
                  "chromium not found: run scripts/setup.sh --test (or set QTOOL_CHROMIUM)");
  fs::create_directories(kDir);
  std::string page = qtool::pipeline::render_report_html(qtool::test::sample_results());
  CHECK(page.size() < 2'000'000);
  const fs::path html = kDir / "report-sample.html", probe = kDir / "report-probe.html", xhtml = kDir / "report-sample.xhtml";
  qtool::write_file_atomic(html.string(), page);
  qtool::write_file_atomic(xhtml.string(), page);
  std::string probed = page;
  probed.insert(probed.rfind("</body>"), kProbe);
  probed.insert(probed.find("<head>") + 6, kErrorListener);
  qtool::write_file_atomic(probe.string(), probed);

  SUBCASE("as HTML: no console messages, every plot in the DOM") {
    std::string dom = dump_dom(html);
    CHECK(console_lines(html) == "");
    CHECK(count(dom, "<svg") == 16);
    CHECK(count(dom, "id=\"bleu-size-plot\"") == 1);
    CHECK(count(dom, "id=\"search-plot\"") == 1);
    CHECK(count(dom, "id=\"bits-heatmap-") == 3);
    CHECK(count(dom, "id=\"calibration-hist-") == 11);
    CHECK(count(dom, "<table") == 3);
  }
  SUBCASE("after layout: plots sized, labels inside and apart, nothing fetched") {
    std::string dom = dump_dom(probe);
    CHECK(console_lines(probe) == "");
    std::smatch m;
    REQUIRE(std::regex_search(dom, m, std::regex(R"(<pre id="qtool-probe">([^<]*)</pre>)")));
    auto report = nlohmann::json::parse(unescape_text(m[1].str()));
    INFO("probe: " << report.dump(1));
    CHECK(report["plots"].size() == 16);
    CHECK(report["problems"].empty());
    CHECK(report["resources"].empty());
    CHECK(report["errors"].empty());
  }
  SUBCASE("as XHTML: the strict parser accepts the page") {
    std::string dom = dump_dom(xhtml);
    CHECK(dom.find("parsererror") == std::string::npos);
    CHECK(count(dom, "<svg") == 16);
  }
}
