// The native plan executor: runs a lowered graph (layerkit.graph.native) in one call from Python.
// Intermediate values live in one arena allocated when the plan is built, at offsets chosen by
// the Python-side liveness planner; arguments and variables are bound by pointer at each run;
// the steps run back to back with the GIL released. A node without a native step (a user's
// random sampler, say) runs as a Python callback inside the plan, re-taking the GIL for it. A
// `scan` step runs another plan (the loop's step) once per element, binding its buffers by
// pointer: the whole loop runs without Python.
#include "executor.h"

#include <chrono>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

namespace layerkit::core {

namespace {
std::map<std::string, StepFactory>& factories() {
  static std::map<std::string, StepFactory> f;
  return f;
}

int typenum_of(DType d) {
  switch (d) {
    case DType::F32: return NPY_FLOAT32;
    case DType::F64: return NPY_FLOAT64;
    case DType::I32: return NPY_INT32;
    case DType::I64: return NPY_INT64;
    case DType::Bool: return NPY_BOOL;
  }
  return NPY_FLOAT32;
}

// A numpy array viewing a slot's buffer (no copy, not owning). Call with the GIL held.
nb::object view_of(const Slot& s, bool writable) {
  std::vector<npy_intp> dims(s.shape.begin(), s.shape.end());
  PyObject* a = PyArray_New(&PyArray_Type, (int)dims.size(), dims.data(), typenum_of(s.dtype), nullptr, s.data, 0,
                            writable ? NPY_ARRAY_CARRAY : NPY_ARRAY_CARRAY_RO, nullptr);
  if (!a) throw nb::python_error();
  return nb::steal(a);
}

StepFn make_step(const StepSpec& spec) {
  auto it = factories().find(spec.kernel);
  if (it == factories().end())
    throw nb::value_error(("native plan: no native step named '" + spec.kernel + "'").c_str());
  return it->second(spec);
}

// A node computed by Python: takes the GIL, calls `fn` on views of the input slots and copies
// its result(s) into the output slots (checking shape and dtype: a callback cannot write past a
// buffer).
StepFn python_step(nb::handle fn, std::vector<Slot*> in, std::vector<Slot*> out) {
  return [fn, in, out]() {
    nb::gil_scoped_acquire gil;
    nb::list args;
    for (Slot* s : in) args.append(view_of(*s, false));
    nb::object r = fn(*nb::tuple(args));
    std::vector<nb::object> results;
    if (out.size() == 1 && PyArray_Check(r.ptr())) results.push_back(r);
    else for (nb::handle h : r) results.push_back(nb::borrow(h));
    if (results.size() != out.size()) throw nb::value_error("native plan: a Python step returned the wrong number of results");
    for (size_t k = 0; k < out.size(); ++k) {
      nb::object dst = view_of(*out[k], true);
      PyObject* src = PyArray_FromAny(results[k].ptr(), nullptr, 0, 0, 0, nullptr);
      if (!src) throw nb::python_error();
      nb::object keep = nb::steal(src);
      auto* sa = reinterpret_cast<PyArrayObject*>(src);
      std::vector<int64_t> got(PyArray_DIMS(sa), PyArray_DIMS(sa) + PyArray_NDIM(sa));
      if (got != out[k]->shape || PyArray_TYPE(sa) != typenum_of(out[k]->dtype))
        throw nb::value_error(("native plan: a Python step returned shape " + tuple_str(got) + ", expected " +
                               tuple_str(out[k]->shape)).c_str());
      if (PyArray_CopyInto(reinterpret_cast<PyArrayObject*>(dst.ptr()), sa) < 0) throw nb::python_error();
    }
  };
}

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};

enum SlotKind : int { kArena = 0, kInput = 1, kVariable = 2, kConstant = 3, kAlias = 4 };

class NativePlan {
 public:
  // slots: (dtype code, shape, kind, arg) — arg is the arena byte offset, the argument or variable
  // index, the constant index, or the aliased slot (an earlier slot, same byte size);
  // steps: (kernel, ints, floats, input slots, output slots) — kernel "python" calls callbacks[ints[0]].
  // `constants` and `callbacks` are borrowed: the Python owner of the plan keeps them alive (a
  // C++ reference would hide a cycle from Python's garbage collector).
  NativePlan(std::vector<std::tuple<int, std::vector<int64_t>, int, int64_t>> slots, std::vector<nb::handle> constants,
             int64_t arena_bytes, std::vector<std::tuple<std::string, std::vector<int64_t>, std::vector<double>,
                                                     std::vector<int>, std::vector<int>>> steps,
             std::vector<nb::handle> callbacks, int n_inputs, int n_variables, std::vector<int> outputs,
             std::vector<std::pair<int, int>> updates)
      : constants_(std::move(constants)), callbacks_(std::move(callbacks)), n_inputs_(n_inputs),
        n_variables_(n_variables), outputs_(std::move(outputs)), updates_(std::move(updates)) {
    if (arena_bytes < 0) throw nb::value_error("native plan: negative arena size");
    arena_bytes_ = (size_t)arena_bytes;
    if (arena_bytes_) {
      void* p = std::aligned_alloc(64, (arena_bytes_ + 63) / 64 * 64);
      if (!p) throw std::bad_alloc();
      arena_.reset(static_cast<char*>(p));
    }
    slots_.resize(slots.size());
    for (size_t i = 0; i < slots.size(); ++i) {
      auto& [code, shape, kind, arg] = slots[i];
      if (code < 0 || code > 4) throw nb::value_error("native plan: unknown dtype code");
      Slot& s = slots_[i];
      s.dtype = static_cast<DType>(code);
      s.shape = shape;
      for (int64_t d : shape)
        if (d < 0) throw nb::value_error("native plan: a slot has a negative dimension");
      kind_.push_back(kind);
      arg_.push_back(arg);
      if (kind == kInput || kind == kVariable || kind == kAlias) rebound_.push_back(i);
      const size_t bytes = s.size() * itemsize_of(s.dtype);
      switch (kind) {
        case kArena:
          if (arg < 0 || (size_t)arg + bytes > arena_bytes_ || arg % 64)
            throw nb::value_error("native plan: an arena slot lies outside the arena or is misaligned");
          s.data = arena_.get() + arg;
          break;
        case kInput:
          if (arg < 0 || arg >= n_inputs) throw nb::value_error("native plan: bad argument index");
          input_bytes_.resize(n_inputs, 0);
          input_bytes_[arg] = bytes;
          break;
        case kVariable:
          if (arg < 0 || arg >= n_variables) throw nb::value_error("native plan: bad variable index");
          break;
        case kConstant: {
          if (arg < 0 || (size_t)arg >= constants_.size()) throw nb::value_error("native plan: bad constant index");
          bind(s, constants_[arg], "constant");
          break;
        }
        case kAlias:
          if (arg < 0 || (size_t)arg >= i) throw nb::value_error("native plan: an alias must name an earlier slot");
          if (slots_[arg].size() * itemsize_of(slots_[arg].dtype) != bytes)
            throw nb::value_error("native plan: an alias must have the byte size of the slot it aliases");
          break;
        default:
          throw nb::value_error("native plan: unknown slot kind");
      }
    }
    for (auto& [name, ints, floats, ins, outs] : steps) {
      StepSpec spec{name, ints, floats, {}, {}};
      for (int i : ins) spec.in.push_back(slot_at(i));
      for (int o : outs) spec.out.push_back(slot_at(o));
      if (name == "python") {
        if (ints.size() != 1 || ints[0] < 0 || (size_t)ints[0] >= callbacks_.size())
          throw nb::value_error("native plan: bad callback index");
        steps_.push_back(python_step(callbacks_[ints[0]], spec.in, spec.out));
      } else if (name == "scan") {
        steps_.push_back(scan_step(spec));
      } else if (name == "while") {
        steps_.push_back(while_step(spec));
      } else if (name == "cond") {
        steps_.push_back(cond_step(spec));
      } else {
        steps_.push_back(make_step(spec));
      }
    }
    for (int o : outputs_) slot_at(o);
    for (auto& [v, s] : updates_) {
      if (v < 0 || v >= n_variables) throw nb::value_error("native plan: bad update variable");
      slot_at(s);
    }
  }

  nb::list run(nb::list inputs, nb::list variables) { return run_impl(inputs, variables, nullptr); }

  std::vector<double> profile(nb::list inputs, nb::list variables) {
    std::vector<double> times(steps_.size());
    run_impl(inputs, variables, &times);
    return times;
  }

  int64_t arena_bytes() const { return (int64_t)arena_bytes_; }
  size_t n_steps() const { return steps_.size(); }

  // Runs the plan on raw buffers, without Python (the caller has released the GIL): `in[k]`
  // holds argument k in the plan's shape and dtype, and each output is copied to `out[k]`. For
  // plans without variables (a scan's step).
  void run_raw(const std::vector<void*>& in, const std::vector<void*>& out) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i : rebound_) {
      Slot& s = slots_[i];
      if (kind_[i] == kInput) s.data = in[arg_[i]];
      else if (kind_[i] == kAlias) s.data = slots_[arg_[i]].data;
    }
    for (auto& step : steps_) step();
    for (size_t k = 0; k < outputs_.size(); ++k) {
      const Slot& s = slots_[outputs_[k]];
      std::memmove(out[k], s.data, s.size() * itemsize_of(s.dtype));
    }
  }

 private:
  size_t output_bytes(size_t k) const {
    const Slot& s = slots_[outputs_[k]];
    return s.size() * itemsize_of(s.dtype);
  }

  // The plan of a loop's function: callback `k`, which must be a NativePlan without variables.
  NativePlan* loop_plan(int64_t k, const char* loop) {
    NativePlan* p = nullptr;
    if (k < 0 || (size_t)k >= callbacks_.size() || !nb::try_cast<NativePlan*>(callbacks_[k], p) || p == nullptr)
      throw nb::type_error((std::string(loop) + ": the loop's step must be a NativePlan").c_str());
    if (p->n_variables_ || !p->updates_.empty())
      throw nb::value_error((std::string(loop) + ": the loop's plans must read variables as arguments").c_str());
    if ((int64_t)p->input_bytes_.size() != p->n_inputs_)
      throw nb::value_error((std::string(loop) + ": the loop's plans must have a slot for every argument").c_str());
    return p;
  }

  // A while loop: ints [condition callback, body callback, loop variables, maximum iterations (-1:
  // none), then the count and the indices (among the free inputs) of the condition's free
  // inputs, the same for the body's, then per output slot the loop variable it receives];
  // inputs: the loop variables, then the free inputs. The condition's plan returns one bool.
  StepFn while_step(const StepSpec& spec) {
    const auto& v = spec.ints;
    auto fail_attrs = []() { return nb::value_error("while: malformed step attributes"); };
    if (v.size() < 5) throw fail_attrs();
    NativePlan *cond = loop_plan(v[0], "while"), *body = loop_plan(v[1], "while");
    const int64_t n_vars = v[2], max_iter = v[3], n_in = (int64_t)spec.in.size();
    if (n_vars < 0 || n_vars > n_in) throw fail_attrs();
    size_t at = 4;
    auto free_list = [&]() {
      if (at >= v.size() || v[at] < 0 || at + 1 + v[at] > v.size()) throw fail_attrs();
      std::vector<int64_t> f(v.begin() + at + 1, v.begin() + at + 1 + v[at]);
      at += 1 + v[at];
      for (int64_t i : f)
        if (i < 0 || n_vars + i >= n_in) throw fail_attrs();
      return f;
    };
    const std::vector<int64_t> cond_free = free_list(), body_free = free_list();
    const std::vector<int64_t> picks(v.begin() + at, v.end());
    if (picks.size() != spec.out.size()) throw fail_attrs();
    auto bytes_of = [](const Slot* s) { return s->size() * itemsize_of(s->dtype); };
    std::vector<size_t> var_bytes(n_vars);
    for (int64_t k = 0; k < n_vars; ++k) var_bytes[k] = bytes_of(spec.in[k]);
    if (cond->n_inputs_ != n_vars + (int64_t)cond_free.size() || body->n_inputs_ != n_vars + (int64_t)body_free.size() ||
        cond->outputs_.size() != 1 || cond->slots_[cond->outputs_[0]].dtype != DType::Bool ||
        cond->output_bytes(0) != 1 || (int64_t)body->outputs_.size() != n_vars)
      throw nb::value_error("while: the loop's plans do not fit its operands");
    for (int64_t k = 0; k < n_vars; ++k)
      if (cond->input_bytes_[k] != var_bytes[k] || body->input_bytes_[k] != var_bytes[k] ||
          body->output_bytes(k) != var_bytes[k])
        throw nb::value_error("while: the loop's plans do not fit its operands");
    for (size_t j = 0; j < picks.size(); ++j)
      if (picks[j] < 0 || picks[j] >= n_vars || bytes_of(spec.out[j]) != var_bytes[picks[j]])
        throw nb::value_error("while: a result slot does not fit the loop");
    std::vector<Slot*> in = spec.in, out = spec.out;
    return [=]() {
      std::vector<std::vector<char>> cur(n_vars), next(n_vars);
      for (int64_t k = 0; k < n_vars; ++k) {
        cur[k].assign(static_cast<const char*>(in[k]->data), static_cast<const char*>(in[k]->data) + var_bytes[k]);
        next[k].resize(var_bytes[k]);
      }
      std::vector<void*> cin(n_vars + cond_free.size()), bin(n_vars + body_free.size()), bout(n_vars);
      for (size_t i = 0; i < cond_free.size(); ++i) cin[n_vars + i] = in[n_vars + cond_free[i]]->data;
      for (size_t i = 0; i < body_free.size(); ++i) bin[n_vars + i] = in[n_vars + body_free[i]]->data;
      bool more = false;
      std::vector<void*> cout{&more};
      for (int64_t i = 0; max_iter < 0 || i < max_iter; ++i) {
        for (int64_t k = 0; k < n_vars; ++k) cin[k] = bin[k] = cur[k].data(), bout[k] = next[k].data();
        cond->run_raw(cin, cout);
        if (!more) break;
        body->run_raw(bin, bout);
        std::swap(cur, next);
      }
      for (size_t j = 0; j < picks.size(); ++j) std::memcpy(out[j]->data, cur[picks[j]].data(), var_bytes[picks[j]]);
    };
  }

  // A cond: ints [true branch callback, false branch callback, then the count and the indices
  // (among the free inputs) of each branch's free inputs, then per output slot the index of the
  // result it receives]; inputs: the predicate (one bool), the free inputs. Runs the branch the
  // predicate picks, its results written into the output slots (unread results into scratch).
  StepFn cond_step(const StepSpec& spec) {
    const auto& v = spec.ints;
    auto fail_attrs = []() { return nb::value_error("cond: malformed step attributes"); };
    if (v.size() < 4 || spec.in.empty()) throw fail_attrs();
    NativePlan *branches[2] = {loop_plan(v[0], "cond"), loop_plan(v[1], "cond")};
    const int64_t n_free = (int64_t)spec.in.size() - 1;
    size_t at = 2;
    std::vector<int64_t> frees[2];
    for (auto& f : frees) {
      if (at >= v.size() || v[at] < 0 || at + 1 + v[at] > v.size()) throw fail_attrs();
      f.assign(v.begin() + at + 1, v.begin() + at + 1 + v[at]);
      at += 1 + v[at];
      for (int64_t i : f)
        if (i < 0 || i >= n_free) throw fail_attrs();
    }
    const std::vector<int64_t> picks(v.begin() + at, v.end());
    if (picks.size() != spec.out.size()) throw fail_attrs();
    const Slot* pred = spec.in[0];
    if (pred->dtype != DType::Bool || pred->size() != 1)
      throw nb::value_error("cond: the predicate must be one bool");
    auto bytes_of = [](const Slot* s) { return s->size() * itemsize_of(s->dtype); };
    const size_t n_results = branches[0]->outputs_.size();
    for (int b = 0; b < 2; ++b) {
      NativePlan* p = branches[b];
      if (p->n_inputs_ != (int64_t)frees[b].size() || p->outputs_.size() != n_results)
        throw nb::value_error("cond: the branches' plans do not fit the node's operands");
      for (size_t i = 0; i < frees[b].size(); ++i)
        if (p->input_bytes_[i] != bytes_of(spec.in[1 + frees[b][i]]))
          throw nb::value_error("cond: the branches' plans do not fit the node's operands");
      for (size_t r = 0; r < n_results; ++r)
        if (p->output_bytes(r) != branches[0]->output_bytes(r))
          throw nb::value_error("cond: the branches' results differ in size");
    }
    for (size_t j = 0; j < picks.size(); ++j)
      if (picks[j] < 0 || (size_t)picks[j] >= n_results || bytes_of(spec.out[j]) != branches[0]->output_bytes(picks[j]))
        throw nb::value_error("cond: a result slot does not fit the branches");
    std::vector<Slot*> in = spec.in, out = spec.out;
    std::vector<size_t> result_bytes(n_results);
    for (size_t r = 0; r < n_results; ++r) result_bytes[r] = branches[0]->output_bytes(r);
    return [=]() {
      const int b = *static_cast<const bool*>(in[0]->data) ? 0 : 1;
      std::vector<void*> args(frees[b].size()), results(n_results, nullptr);
      for (size_t i = 0; i < frees[b].size(); ++i) args[i] = in[1 + frees[b][i]]->data;
      std::vector<std::vector<char>> scratch(n_results);
      for (size_t j = 0; j < picks.size(); ++j)
        if (!results[picks[j]]) results[picks[j]] = out[j]->data;
      for (size_t r = 0; r < n_results; ++r)
        if (!results[r]) {
          scratch[r].resize(std::max<size_t>(result_bytes[r], 1));
          results[r] = scratch[r].data();
        }
      branches[b]->run_raw(args, results);
      for (size_t j = 0; j < picks.size(); ++j)  // a result read by two slots
        if (results[picks[j]] != out[j]->data) std::memcpy(out[j]->data, results[picks[j]], result_bytes[picks[j]]);
    };
  }

  // A scan: ints [body callback, carries, sequences, length, reverse, then per output slot the
  // index of the loop result it receives]; inputs: the initial carries, the sequences (the step
  // reads element i of each), the free inputs. Results: the final carries, the stacked step
  // outputs, the carry that entered each step (as layerkit.graph.control_flow numbers them).
  // The body's buffers are bound by pointer: element i of a sequence is read in place and step
  // outputs are written straight into their stacked result.
  StepFn scan_step(const StepSpec& spec) {
    const auto& v = spec.ints;
    if (v.size() < 5 || v.size() - 5 != spec.out.size()) throw nb::value_error("scan: malformed step attributes");
    NativePlan* body = loop_plan(v[0], "scan");
    const int64_t n_carry = v[1], n_xs = v[2], length = v[3];
    const bool reverse = v[4] != 0;
    const int64_t n_in = (int64_t)spec.in.size(), n_out = (int64_t)body->outputs_.size();
    if (body->n_inputs_ != n_in || n_carry < 0 || n_xs < 0 || n_carry + n_xs > n_in || n_out < n_carry || length < 1)
      throw nb::value_error("scan: the step's plan does not fit the loop's operands");
    auto bytes_of = [](const Slot* s) { return s->size() * itemsize_of(s->dtype); };
    std::vector<size_t> in_bytes(body->input_bytes_), out_bytes(n_out);
    for (int64_t k = 0; k < n_out; ++k) out_bytes[k] = body->output_bytes(k);
    for (int64_t k = 0; k < n_in; ++k) {
      const size_t want = (k >= n_carry && k < n_carry + n_xs ? length : 1) * in_bytes[k];
      if (bytes_of(spec.in[k]) != want) throw nb::value_error("scan: an operand's size does not fit the step's plan");
    }
    for (int64_t k = 0; k < n_carry; ++k)
      if (out_bytes[k] != in_bytes[k]) throw nb::value_error("scan: the step changes a carry's size");
    const int64_t n_ys = n_out - n_carry;
    for (size_t j = 0; j < spec.out.size(); ++j) {
      const int64_t r = v[5 + j];
      if (r < 0 || r >= n_out + n_carry) throw nb::value_error("scan: malformed step attributes");
      // (an empty batch makes empty carries and results: 0 bytes fit)
      const size_t want = r < n_carry ? in_bytes[r] : r < n_out ? length * out_bytes[r] : length * in_bytes[r - n_out];
      if (bytes_of(spec.out[j]) != want) throw nb::value_error("scan: a result slot does not fit the loop");
    }
    std::vector<Slot*> in = spec.in, out = spec.out;
    std::vector<int64_t> picks(v.begin() + 5, v.end());
    return [=]() {
      std::vector<std::vector<char>> cur(n_carry), next(n_carry), scratch(n_ys);
      for (int64_t k = 0; k < n_carry; ++k) {
        cur[k].assign(static_cast<const char*>(in[k]->data), static_cast<const char*>(in[k]->data) + in_bytes[k]);
        next[k].resize(in_bytes[k]);
      }
      std::vector<char*> ys(n_ys, nullptr), history(n_carry, nullptr);
      for (size_t j = 0; j < picks.size(); ++j) {
        const int64_t r = picks[j];
        if (r >= n_carry && r < n_out) ys[r - n_carry] = static_cast<char*>(out[j]->data);
        else if (r >= n_out) history[r - n_out] = static_cast<char*>(out[j]->data);
      }
      for (int64_t y = 0; y < n_ys; ++y)
        if (!ys[y]) scratch[y].resize(out_bytes[n_carry + y]);
      std::vector<void*> bin(n_in), bout(n_out);
      for (int64_t k = n_carry + n_xs; k < n_in; ++k) bin[k] = in[k]->data;
      for (int64_t s = 0; s < length; ++s) {
        const int64_t i = reverse ? length - 1 - s : s;
        for (int64_t k = 0; k < n_carry; ++k) {
          if (history[k]) std::memcpy(history[k] + i * in_bytes[k], cur[k].data(), in_bytes[k]);
          bin[k] = cur[k].data();
          bout[k] = next[k].data();
        }
        for (int64_t k = n_carry; k < n_carry + n_xs; ++k) bin[k] = static_cast<char*>(in[k]->data) + i * in_bytes[k];
        for (int64_t y = 0; y < n_ys; ++y)
          bout[n_carry + y] = ys[y] ? ys[y] + i * out_bytes[n_carry + y] : static_cast<void*>(scratch[y].data());
        body->run_raw(bin, bout);
        std::swap(cur, next);
      }
      for (size_t j = 0; j < picks.size(); ++j)
        if (picks[j] < n_carry) std::memcpy(out[j]->data, cur[picks[j]].data(), in_bytes[picks[j]]);
    };
  }

  Slot* slot_at(int i) {
    if (i < 0 || (size_t)i >= slots_.size()) throw nb::value_error("native plan: slot index out of range");
    return &slots_[i];
  }

  // Points `s` at array `o`'s buffer after checking it is what the plan was built for.
  static void bind(Slot& s, nb::handle o, const char* what) {
    if (!PyArray_Check(o.ptr())) throw nb::type_error((std::string("native plan: the ") + what + " is not an array").c_str());
    auto* a = reinterpret_cast<PyArrayObject*>(o.ptr());
    std::vector<int64_t> got(PyArray_DIMS(a), PyArray_DIMS(a) + PyArray_NDIM(a));
    if (PyArray_TYPE(a) != typenum_of(s.dtype) || got != s.shape)
      throw nb::value_error((std::string("native plan: the ") + what + " has shape " + tuple_str(got) +
                             " and another dtype or shape than the plan was built for, " + tuple_str(s.shape)).c_str());
    if (!PyArray_IS_C_CONTIGUOUS(a) || !PyArray_ISALIGNED(a))
      throw nb::value_error((std::string("native plan: the ") + what + " is not a C-contiguous aligned array").c_str());
    s.data = PyArray_DATA(a);
  }

  nb::list run_impl(nb::list inputs, nb::list variables, std::vector<double>* times) {
    if ((int)inputs.size() != n_inputs_ || (int)variables.size() != n_variables_)
      throw nb::value_error("native plan: wrong number of arguments or variables");
    // one run at a time: the arena and the slot pointers are the plan's state
    std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock()) {
      nb::gil_scoped_release nogil;
      lock.lock();
    }
    for (size_t i : rebound_) {
      Slot& s = slots_[i];
      if (kind_[i] == kInput) bind(s, inputs[arg_[i]], "argument");
      else if (kind_[i] == kVariable) bind(s, variables[arg_[i]], "variable");
      else if (kind_[i] == kAlias) s.data = slots_[arg_[i]].data;
    }
    std::exception_ptr error;
    {
      nb::gil_scoped_release nogil;
      try {
        if (times) {
          for (size_t k = 0; k < steps_.size(); ++k) {
            auto t0 = std::chrono::steady_clock::now();
            steps_[k]();
            (*times)[k] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          }
        } else {
          for (auto& step : steps_) step();
        }
      } catch (...) {
        error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
    // results first (copies: the arena is reused by the next run), then the write-backs, so
    // every read of the step saw the variables' values from before it
    nb::list results;
    for (int o : outputs_) {
      const Slot& s = slots_[o];
      void* data;
      nb::object out = new_array_of(s.ushape(), typenum_of(s.dtype), &data);
      std::memcpy(data, s.data, s.size() * itemsize_of(s.dtype));
      results.append(out);
    }
    // a new value that reads a variable's buffer in place (`w.value`, a reshape of it) must be
    // copied out before an earlier write-back overwrites that buffer (`prev.assign(w.value)` after
    // `w.assign_sub(...)`; a swap)
    const size_t n_up = updates_.size();
    std::vector<Slot> dsts(n_up);
    for (size_t k = 0; k < n_up; ++k) {
      dsts[k] = slots_[updates_[k].second];
      bind(dsts[k], variables[updates_[k].first], "variable");
    }
    auto bytes_of = [](const Slot& x) { return x.size() * itemsize_of(x.dtype); };
    std::vector<std::vector<char>> snapshots(n_up);
    for (size_t k = 0; k < n_up; ++k) {
      const Slot& s = slots_[updates_[k].second];
      const char *lo = static_cast<const char*>(s.data), *hi = lo + bytes_of(s);
      for (size_t j = 0; j < k; ++j) {
        const char* d = static_cast<const char*>(dsts[j].data);
        if (lo < d + bytes_of(dsts[j]) && d < hi) {
          snapshots[k].assign(lo, hi);
          break;
        }
      }
    }
    for (size_t k = 0; k < n_up; ++k) {
      const Slot& s = slots_[updates_[k].second];
      const void* src = snapshots[k].empty() ? s.data : snapshots[k].data();
      if (dsts[k].data != src) std::memmove(dsts[k].data, src, bytes_of(s));
    }
    return results;
  }

  std::vector<Slot> slots_;
  std::vector<int> kind_;
  std::vector<int64_t> arg_;
  std::vector<size_t> rebound_;  // slots whose buffer is set at each run, in slot order
  std::vector<size_t> input_bytes_;  // per argument
  std::vector<nb::handle> constants_, callbacks_;
  std::unique_ptr<char, AlignedFree> arena_;
  size_t arena_bytes_ = 0;
  std::vector<StepFn> steps_;
  int n_inputs_, n_variables_;
  std::vector<int> outputs_;
  std::vector<std::pair<int, int>> updates_;
  std::mutex mutex_;
};

// One native step on fresh buffers: the way tests compare a step with its eager kernel.
nb::list run_native_step(std::string kernel, std::vector<int64_t> ints, std::vector<double> floats, nb::list inputs,
                         std::vector<std::vector<int64_t>> out_shapes, std::vector<int> out_dtypes) {
  if (out_shapes.size() != out_dtypes.size()) throw nb::value_error("run_native_step: one dtype per output shape");
  std::vector<Slot> slots(inputs.size() + out_shapes.size());
  std::vector<nb::object> keep;
  StepSpec spec{kernel, ints, floats, {}, {}};
  for (size_t i = 0; i < inputs.size(); ++i) {
    PyObject* a = PyArray_FromAny(inputs[i].ptr(), nullptr, 0, 0, NPY_ARRAY_CARRAY, nullptr);
    if (!a) throw nb::python_error();
    keep.push_back(nb::steal(a));
    auto* pa = reinterpret_cast<PyArrayObject*>(a);
    Slot& s = slots[i];
    s.dtype = dtype_of(NpType{PyArray_TYPE(pa)}, kernel.c_str());
    s.shape.assign(PyArray_DIMS(pa), PyArray_DIMS(pa) + PyArray_NDIM(pa));
    s.data = PyArray_DATA(pa);
    spec.in.push_back(&s);
  }
  nb::list results;
  for (size_t k = 0; k < out_shapes.size(); ++k) {
    Slot& s = slots[inputs.size() + k];
    if (out_dtypes[k] < 0 || out_dtypes[k] > 4) throw nb::value_error("run_native_step: unknown dtype code");
    s.dtype = static_cast<DType>(out_dtypes[k]);
    s.shape = out_shapes[k];
    for (int64_t d : s.shape)
      if (d < 0) throw nb::value_error("run_native_step: negative dimension");
    void* data;
    results.append(new_array_of(s.ushape(), typenum_of(s.dtype), &data));
    s.data = data;
    spec.out.push_back(&s);
  }
  StepFn step = make_step(spec);
  {
    nb::gil_scoped_release nogil;
    step();
  }
  return results;
}

}  // namespace

void register_step(const char* name, StepFactory f) { factories()[name] = f; }


const char* dtype_name(DType d) {
  static const char* names[] = {"float32", "float64", "int32", "int64", "bool"};
  return names[(int)d];
}

void expect_arity(const StepSpec& s, size_t n_in, size_t n_out) {
  if (s.in.size() != n_in || s.out.size() != n_out)
    throw nb::value_error((s.kernel + ": expected " + std::to_string(n_in) + " inputs and " + std::to_string(n_out) +
                           " outputs, received " + std::to_string(s.in.size()) + " and " + std::to_string(s.out.size()))
                              .c_str());
}

void expect_min_arity(const StepSpec& s, size_t n_in, size_t n_out) {
  if (s.in.size() < n_in || s.out.size() != n_out)
    throw nb::value_error((s.kernel + ": expected at least " + std::to_string(n_in) + " inputs and " +
                           std::to_string(n_out) + " outputs, received " + std::to_string(s.in.size()) + " and " +
                           std::to_string(s.out.size())).c_str());
}

void expect_ints(const StepSpec& s, size_t n) {
  if (s.ints.size() != n)
    throw nb::value_error((s.kernel + ": expected " + std::to_string(n) + " integer attributes, received " +
                           std::to_string(s.ints.size())).c_str());
}

void expect_dtype(const StepSpec& s, const Slot* slot, DType dt, const char* what) {
  if (slot->dtype != dt)
    throw nb::type_error((s.kernel + ": " + what + " must be " + dtype_name(dt) + ", received " + dtype_name(slot->dtype))
                             .c_str());
}

void expect_float(const StepSpec& s, const Slot* slot, const char* what) {
  if (slot->dtype != DType::F32 && slot->dtype != DType::F64)
    throw nb::type_error((s.kernel + ": " + what + " must be float32 or float64, received " + dtype_name(slot->dtype))
                             .c_str());
}

void expect_shape(const StepSpec& s, const Slot* slot, const std::vector<int64_t>& want, const char* what) {
  if (slot->shape != want)
    throw nb::value_error((s.kernel + ": " + what + " must have shape " + tuple_str(want) + ", received " +
                           tuple_str(slot->shape)).c_str());
}

void bind_executor(nb::module_& m) {
  nb::class_<NativePlan>(m, "NativePlan",
                         "A lowered graph: steps over value slots, run in one call with the GIL released.")
      .def(nb::init<std::vector<std::tuple<int, std::vector<int64_t>, int, int64_t>>, std::vector<nb::handle>, int64_t,
                    std::vector<std::tuple<std::string, std::vector<int64_t>, std::vector<double>, std::vector<int>,
                                           std::vector<int>>>,
                    std::vector<nb::handle>, int, int, std::vector<int>, std::vector<std::pair<int, int>>>(),
           nb::arg("slots"), nb::arg("constants"), nb::arg("arena_bytes"), nb::arg("steps"), nb::arg("callbacks"),
           nb::arg("n_inputs"), nb::arg("n_variables"), nb::arg("outputs"), nb::arg("updates"))
      .def("run", &NativePlan::run, nb::arg("inputs"), nb::arg("variables"),
           "Runs every step; returns copies of the output slots and writes the updates into the variables.")
      .def("profile", &NativePlan::profile, nb::arg("inputs"), nb::arg("variables"),
           "Runs like `run` and returns the seconds each step took.")
      .def_prop_ro("arena_bytes", &NativePlan::arena_bytes)
      .def_prop_ro("n_steps", &NativePlan::n_steps);
  m.def("run_native_step", &run_native_step, nb::arg("kernel"), nb::arg("ints"), nb::arg("floats"), nb::arg("inputs"),
        nb::arg("out_shapes"), nb::arg("out_dtypes"),
        "Runs one native step on fresh output arrays (for tests: each step equals its eager kernel).");
  m.def("native_step_names", []() {
    std::vector<std::string> names;
    for (auto& kv : factories()) names.push_back(kv.first);
    return names;
  });
}

}  // namespace layerkit::core
