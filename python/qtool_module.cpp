// `import qtool`: the public C++ API (include/qtool/translator.h) for Python.
//   t = qtool.Translator("model.qtm", threads=2, beam_size=4)
//   t.translate(["Hello world."])            -> ["..."]
//   t.translate_batch(lines, num_hypotheses=2) -> [[{"text", "ids", "score"}, ...], ...]
// Keyword options are TranslatorOptions' fields; a call's keywords override the
// Translator's for that call. The GIL is released while translating, so
// several Python threads translate at once; errors raise qtool.Error with the
// line `qtool translate` prints.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "qtool/translator.h"

namespace py = pybind11;

namespace {

// Keyword arguments → options, starting from `base`; an unknown keyword is an error.
qtool::TranslatorOptions with_kwargs(qtool::TranslatorOptions o, const py::kwargs& kw) {
  for (auto [key, value] : kw) {
    const std::string k = py::cast<std::string>(key);
    if (k == "quantize") o.quantize = py::cast<std::string>(value);
    else if (k == "threads") o.threads = py::cast<int>(value);
    else if (k == "beam_size") o.beam_size = py::cast<int>(value);
    else if (k == "num_hypotheses") o.num_hypotheses = py::cast<int>(value);
    else if (k == "max_new_tokens") o.max_new_tokens = py::cast<int>(value);
    else if (k == "length_penalty") o.length_penalty = py::cast<double>(value);
    else if (k == "batch_size") o.batch_size = py::cast<int>(value);
    else if (k == "max_batch_tokens") o.max_batch_tokens = py::cast<int>(value);
    else if (k == "streams") o.streams = py::cast<int>(value);
    else if (k == "return_scores") o.return_scores = py::cast<bool>(value);
    else if (k == "show_progress") o.show_progress = py::cast<bool>(value);
    else if (k == "progress") {
      // Called from a translating thread (a stream's, with several), one call at a
      // time; it takes the GIL for the call.
      // Options are copied and dropped without the GIL: the function lives in a
      // shared_ptr that takes the GIL only to free it.
      std::shared_ptr<py::function> f(new py::function(py::reinterpret_borrow<py::function>(value)),
                                      [](py::function* p) {
                                        py::gil_scoped_acquire gil;
                                        delete p;
                                      });
      o.progress = [f](std::size_t done, std::size_t total) {
        py::gil_scoped_acquire gil;
        py::object r = (*f)(done, total);
        return r.is_none() || static_cast<bool>(py::bool_(r));  // None or true: go on
      };
    } else {
      throw py::type_error("unknown option '" + k + "'");
    }
  }
  return o;
}

py::list results_to_python(const std::vector<qtool::TranslationResult>& results) {
  py::list out;
  for (const qtool::TranslationResult& r : results) {
    py::list hyps;
    for (const qtool::Hypothesis& h : r.hypotheses) {
      py::dict d;
      d["text"] = h.text;
      d["ids"] = h.ids;
      d["score"] = h.score;
      hyps.append(d);
    }
    out.append(hyps);
  }
  return out;
}

}  // namespace

PYBIND11_MODULE(qtool, m) {
  m.doc() = "qtool: run packed (.qtm) or Hugging Face Marian translation models on CPUs";
  m.attr("__version__") = qtool::version();
  // Its message is the line `qtool translate` prints. An exception raised by a
  // progress callback passes through as it was.
  py::register_exception<qtool::Error>(m, "Error", PyExc_RuntimeError);
  m.def("kernels", &qtool::kernels, "The kernels chosen for this CPU");
  m.def("runtime_only", &qtool::runtime_only, "True when this build reads .qtm files only");

  py::class_<qtool::Translator>(m, "Translator")
      .def(py::init([](const std::string& model, const py::kwargs& kw) {
             qtool::TranslatorOptions o = with_kwargs({}, kw);
             py::gil_scoped_release nogil;
             return std::make_unique<qtool::Translator>(model, std::move(o));
           }),
           py::arg("model"), "Load a .qtm file or a checkpoint directory; keywords: TranslatorOptions' fields")
      .def(
          "translate",
          [](const qtool::Translator& t, const std::vector<std::string>& lines, const py::kwargs& kw) {
            const qtool::TranslatorOptions o = with_kwargs(t.options(), kw);
            py::gil_scoped_release nogil;
            return t.translate(lines, o);
          },
          py::arg("lines"), "Translate lines; returns the best translation of each")
      .def(
          "translate_batch",
          [](const qtool::Translator& t, const std::vector<std::string>& lines, const py::kwargs& kw) {
            const qtool::TranslatorOptions o = with_kwargs(t.options(), kw);
            std::vector<qtool::TranslationResult> r;
            {
              py::gil_scoped_release nogil;
              r = t.translate_batch(lines, o);
            }
            return results_to_python(r);
          },
          py::arg("lines"), "Per line, its hypotheses best first: dicts with text, ids and score")
      .def(
          "translate_ids",
          [](const qtool::Translator& t, const std::vector<std::vector<int>>& sources, const py::kwargs& kw) {
            const qtool::TranslatorOptions o = with_kwargs(t.options(), kw);
            py::gil_scoped_release nogil;
            return t.translate_ids(sources, o);
          },
          py::arg("sources"), "Source ids (</s> last) in, best target ids out")
      .def("encode", &qtool::Translator::encode, py::arg("line"), "A line's source ids, </s> last")
      .def("decode", &qtool::Translator::decode, py::arg("ids"), "Target ids to text")
      .def_property_readonly("max_source_length", &qtool::Translator::max_source_length);
}
