#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "pipeline/model_loader.h"
#include "cli/options.h"
#include "eval/bleu.h"
#include "util/error.h"
#include "util/file.h"

namespace qtool::cli {

void add_eval_bleu(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "eval-bleu",
      "Score translations with corpus BLEU exactly as sacreBLEU 2.x (13a, exp smoothing);\n"
      "either --hyp FILE, or --model PATH --src FILE to translate first");
  auto opt = std::make_shared<RunOptions>();
  auto hyp = std::make_shared<std::string>();
  auto src = std::make_shared<std::string>();
  auto ref = std::make_shared<std::string>();
  auto hyp_out = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  auto* hyp_opt = cmd->add_option("--hyp", *hyp, "Translations to score, one per line");
  auto* model_opt = cmd->add_option("--model", opt->model, "Model to translate --src with");
  cmd->add_option("--src", *src, "Source sentences (with --model)");
  cmd->add_option("--ref", *ref, "Reference translations, one per line")->required();
  cmd->add_option("--save-hyp", *hyp_out, "With --model: also write the translations here");
  cmd->add_flag("--json", *as_json, "Print the score as JSON");
  add_run_options(*cmd, *opt);
  hyp_opt->excludes(model_opt);
  cmd->callback([=] {
    if (!hyp_out->empty()) {
      check_distinct({*ref, *src}, *hyp_out);
      if (!opt->model.empty()) check_distinct(pipeline::model_input_files(opt->model), *hyp_out);
    }
    std::vector<std::string> refs = read_lines(*ref);
    std::vector<std::string> hyps;
    if (!hyp->empty()) {
      hyps = read_lines(*hyp);
    } else if (!opt->model.empty()) {
      if (src->empty()) throw Error("eval-bleu: --model needs --src");
      std::vector<std::string> lines = read_input_lines(*src);
      hyps = pipeline::load_model(opt->model, opt->quantize).translator().translate(lines, translate_options(*opt));
      if (!hyp_out->empty()) {
        AtomicOutput f(*hyp_out);
        for (const std::string& l : hyps) f.stream() << l << '\n';
        f.commit();
      }
    } else {
      throw Error("eval-bleu: give --hyp FILE, or --model PATH with --src FILE");
    }
    if (hyps.size() != refs.size())
      throw Error(*ref + ": has " + std::to_string(refs.size()) + " lines but the hypotheses have " +
                  std::to_string(hyps.size()));
    eval::BleuScore s = eval::corpus_bleu(hyps, refs);
    if (*as_json) {
      nlohmann::json j = {{"bleu", s.score},          {"precisions", s.precisions},
                          {"bp", s.bp},               {"ratio", s.ratio},
                          {"hyp_len", s.hyp_len},     {"ref_len", s.ref_len},
                          {"counts", s.counts},       {"totals", s.totals},
                          {"line", s.line()},         {"tokenizer", "13a"},
                          {"sentences", hyps.size()}};
      std::cout << j.dump(1) << "\n";
    } else {
      std::cout << s.line() << "\n";
    }
  });
}

}  // namespace qtool::cli
