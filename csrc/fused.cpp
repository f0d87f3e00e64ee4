// Fused elementwise kernels for the graph compiler: a chain (or tree) of elementwise ops runs as
// one pass over memory. The graph's fusion pass compiles the group into a small register
// program; this kernel runs it block by block, so every intermediate lives in a cache-resident
// block instead of a full-size array, and each instruction is a tight vectorizable loop.
#include <nanobind/stl/vector.h>
#include <omp.h>

#include <memory>

#include "broadcast.h"
#include "common.h"
#include "elementwise_ops.h"
#include "executor.h"

namespace layerkit::core {
namespace {

// Program format: int32 rows [opcode, dst, a, b, c].
//   LOAD  dst <- input a        CONST dst <- immediates[a]     STORE output dst <- register a
//   WHERE dst <- c ? a : b      unary op dst <- f(a)           binary op dst <- f(a, b)
enum : int32_t { kLoad = 0, kConst = 1, kStore = 2, kWhere = 3, kUnary = 16, kBinary = 64 };
constexpr int kMaxOperands = 16;  // outputs + inputs share the broadcast plan's operand slots
constexpr int64_t kBlock = 1024;  // elements per register: 4-8 KB each, a program's registers stay in L2
constexpr int64_t kChunk = 8192;  // most elements per parallel work item

template <class T, B op>
void binary_block(T* d, const T* a, const T* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = T(binary_fn<op, T>(a[i], b[i]));
}

template <class T>
void run_binary(int code, T* d, const T* a, const T* b, int64_t n) {
  switch (static_cast<B>(code)) {
#define LK_B(name) case B::name: binary_block<T, B::name>(d, a, b, n); return;
    LK_B(Add) LK_B(Sub) LK_B(Mul) LK_B(Div) LK_B(Pow) LK_B(Max) LK_B(Min) LK_B(Eq) LK_B(Ne) LK_B(Lt) LK_B(Le)
    LK_B(Gt) LK_B(Ge) LK_B(ReluGrad)
#undef LK_B
    default: break;
  }
}

struct Program {
  std::vector<std::array<int32_t, 5>> code;
  std::vector<double> imm;
  int n_regs = 0;
};

// Loads elements [f, f + len) of the output index space from operand `k` into `d`: a walk over
// the plan's (collapsed) dims that copies one row segment at a time, so a small last dim (a
// bias broadcast over many rows) costs a few carries per block, not a loop trip per row.
template <class T>
void load_block(const Plan<kMaxOperands>& p, size_t k, const void* base, bool is_bool, int64_t f, int64_t len, T* d) {
  const size_t nd = p.dims.size();
  std::array<int64_t, 8> idx{};
  int64_t rem = f, off = 0;
  for (size_t q = nd; q-- > 0;) {
    idx[q] = rem % (int64_t)p.dims[q];
    rem /= (int64_t)p.dims[q];
    off += idx[q] * p.strides[q][k];
  }
  const int64_t n = (int64_t)p.dims[nd - 1], st = p.strides[nd - 1][k];
  for (int64_t i = 0; i < len;) {
    const int64_t run = std::min(len - i, n - idx[nd - 1]);
    if (is_bool) {
      const bool* src = static_cast<const bool*>(base) + off;
      for (int64_t j = 0; j < run; ++j) d[i + j] = T(src[j * st]);
    } else {
      const T* src = static_cast<const T*>(base) + off;
      if (st == 1) std::memcpy(d + i, src, run * sizeof(T));
      else for (int64_t j = 0; j < run; ++j) d[i + j] = src[j * st];
    }
    i += run;
    idx[nd - 1] += run;
    off += run * st;
    for (size_t q = nd - 1; q > 0 && idx[q] == (int64_t)p.dims[q]; --q) {  // carry into outer dims
      off += p.strides[q - 1][k] - idx[q] * p.strides[q][k];
      idx[q] = 0;
      ++idx[q - 1];
    }
  }
}

// Where a LOAD finds its block. Registers are pointers: a load costs nothing when the input can
// be read where it lies (it has the output's shape), or when its block is the same for every
// block (a scalar, or a row vector whose length divides kBlock: a bias) and was filled once per
// thread; only other broadcasts are gathered into a register block by load_block.
enum class Load : uint8_t { Direct, Fixed, Gather };

struct Layout {
  std::vector<Load> load;   // per input
  bool direct_ok = false;   // reading inputs in place is safe for this program (see classify)
};

// In-place outputs may share memory with inputs, so an input is read in place only when every
// STORE comes after the last computation and no STORE copies a loaded register as it is: then
// all reads of a block happen before any write to it.
Layout classify(const Program& prog, const Plan<kMaxOperands>& p, const std::vector<bool>& in_bool, size_t n_out) {
  Layout l;
  bool stores_last = true, seen_store = false;
  std::vector<bool> loaded(prog.n_regs, false);
  for (const auto& ins : prog.code) {
    if (ins[0] == kStore) {
      seen_store = true;
      if (loaded[ins[2]]) stores_last = false;
    } else {
      if (seen_store) stores_last = false;
      loaded[ins[1]] = ins[0] == kLoad;
    }
  }
  l.direct_ok = stores_last;
  const size_t nd = p.dims.size();
  for (size_t k = 0; k < in_bool.size(); ++k) {
    const size_t op = n_out + k;
    bool full = true, uniform = true,
         row = nd >= 2 && p.strides[nd - 1][op] == 1 && p.dims[nd - 1] > 0 && kBlock % (int64_t)p.dims[nd - 1] == 0;
    for (size_t q = 0; q < nd; ++q) {
      if (p.strides[q][op] != p.strides[q][0]) full = false;  // operand 0 is an output: C-contiguous
      if (p.strides[q][op] != 0 && p.dims[q] != 1) uniform = false;
      if (q + 1 < nd && p.strides[q][op] != 0) row = false;
    }
    l.load.push_back(full && !in_bool[k] && l.direct_ok ? Load::Direct : (uniform || row) ? Load::Fixed : Load::Gather);
  }
  return l;
}

// Runs `prog` over output elements [f0, f0 + n) in blocks of kBlock. `regs` holds n_regs blocks
// of scratch; `fixed` one block per input and per instruction (the pre-filled loads and consts).
template <class T>
void run_range(const Program& prog, const Plan<kMaxOperands>& p, const Layout& lay, const std::vector<const void*>& in,
               const std::vector<bool>& in_bool, const std::vector<void*>& out, const std::vector<bool>& out_bool,
               int64_t f0, int64_t n, T* regs, const T* fixed, const T** ptr) {
  const size_t n_out = out.size(), n_in = in.size();
  for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
    const int64_t len = std::min(kBlock, n - b0);
    const int64_t f = f0 + b0;
    for (size_t row = 0; row < prog.code.size(); ++row) {
      const auto& ins = prog.code[row];
      T* d = regs + ins[1] * kBlock;
      switch (ins[0]) {
        case kLoad: {
          const int k = ins[2];
          if (lay.load[k] == Load::Direct) {
            ptr[ins[1]] = static_cast<const T*>(in[k]) + f;
          } else if (lay.load[k] == Load::Fixed) {
            ptr[ins[1]] = fixed + k * kBlock;
          } else {
            load_block<T>(p, n_out + k, in[k], in_bool[k], f, len, d);
            ptr[ins[1]] = d;
          }
          break;
        }
        case kConst:
          ptr[ins[1]] = fixed + (n_in + row) * kBlock;
          break;
        case kStore: {  // outputs are C-contiguous over the output shape
          const T* a = ptr[ins[2]];
          if (out_bool[ins[1]]) {
            bool* q = static_cast<bool*>(out[ins[1]]) + f;
            for (int64_t i = 0; i < len; ++i) q[i] = a[i] != T(0);
          } else {
            std::memcpy(static_cast<T*>(out[ins[1]]) + f, a, len * sizeof(T));
          }
          break;
        }
        case kWhere: {
          const T *a = ptr[ins[2]], *b = ptr[ins[3]], *c = ptr[ins[4]];
          for (int64_t i = 0; i < len; ++i) d[i] = c[i] != T(0) ? a[i] : b[i];
          ptr[ins[1]] = d;
          break;
        }
        default:
          if (ins[0] >= kBinary) run_binary<T>(ins[0] - kBinary, d, ptr[ins[2]], ptr[ins[3]], len);
          else unary_array<T>(static_cast<U>(ins[0] - kUnary), ptr[ins[2]], d, len);
          ptr[ins[1]] = d;
      }
    }
  }
}

template <class T>
void run_program(const Program& prog, const Plan<kMaxOperands>& p, const Layout& lay, const std::vector<const void*>& in,
                 const std::vector<bool>& in_bool, const std::vector<void*>& out, const std::vector<bool>& out_bool) {
  const int64_t total = (int64_t)p.size;
  if (total == 0) return;  // an empty result (a batch of none): nothing to read, and load_block would divide by 0
  const size_t n_in = in.size();
  // the work is one pass over the elements per instruction, as much as that many simple kernels
  // (a transcendental one weighs more); enough of it is shared out in chunks of whole blocks, at
  // least one per thread
  int64_t cost = 1;
  for (const auto& ins : prog.code)
    cost += ins[0] >= kUnary && ins[0] < kBinary ? unary_cost(static_cast<U>(ins[0] - kUnary)) : 1;
  const int64_t work = total * cost;
  const bool parallel = work > kParallelGrain && total > kBlock;
  const int64_t per_thread = (total + omp_get_max_threads() - 1) / omp_get_max_threads();
  const int64_t chunk =
      parallel ? std::clamp((per_thread + kBlock - 1) / kBlock * kBlock, kBlock, kChunk) : std::max<int64_t>(total, 1);
  const int64_t items = (total + chunk - 1) / chunk;
#pragma omp parallel if (parallel && items > 1)
  {
    // uninitialized: a small op must not pay for clearing blocks it never reads
    std::unique_ptr<T[]> regs(new T[(size_t)std::max(prog.n_regs, 1) * kBlock]);
    std::vector<const T*> ptr((size_t)std::max(prog.n_regs, 1), nullptr);
    // pre-filled blocks: one per fixed input (its block at offset 0 is every block's) and per const
    std::unique_ptr<T[]> fixed(new T[(n_in + prog.code.size()) * kBlock]);
    const int64_t first = std::min(kBlock, total);
    for (size_t k = 0; k < n_in; ++k)
      if (lay.load[k] == Load::Fixed) load_block<T>(p, out.size() + k, in[k], in_bool[k], 0, first, fixed.get() + k * kBlock);
    for (size_t row = 0; row < prog.code.size(); ++row)
      if (prog.code[row][0] == kConst)
        std::fill_n(fixed.get() + (n_in + row) * kBlock, first, T(prog.imm[prog.code[row][2]]));
#pragma omp for schedule(static)
    for (int64_t w = 0; w < items; ++w) {
      const int64_t f0 = w * chunk;
      run_range<T>(prog, p, lay, in, in_bool, out, out_bool, f0, std::min(chunk, total - f0), regs.get(), fixed.get(),
                   ptr.data());
    }
  }
}

// Checks and copies a program: rows of 5 int32, every register and operand index in range.
Program make_program(const int32_t* c, size_t rows, const double* imm, size_t n_imm, int n_regs, size_t n_in,
                     size_t n_out) {
  Program prog;
  for (size_t i = 0; i < rows; ++i) {
    std::array<int32_t, 5> ins{c[5 * i], c[5 * i + 1], c[5 * i + 2], c[5 * i + 3], c[5 * i + 4]};
    const bool reg_ok = ins[1] >= 0 && ins[1] < (ins[0] == kStore ? (int)n_out : n_regs);
    const bool src_ok = ins[0] == kLoad ? (ins[2] >= 0 && ins[2] < (int)n_in)
                        : ins[0] == kConst ? (ins[2] >= 0 && ins[2] < (int)n_imm)
                        : (ins[2] >= 0 && ins[2] < n_regs);
    const bool more_ok = ins[0] == kWhere ? (ins[3] >= 0 && ins[3] < n_regs && ins[4] >= 0 && ins[4] < n_regs)
                         : ins[0] >= kBinary ? (ins[3] >= 0 && ins[3] < n_regs) : true;
    if (!reg_ok || !src_ok || !more_ok) throw nb::value_error("fused_elementwise: instruction operand out of range");
    prog.code.push_back(ins);
  }
  prog.imm.assign(imm, imm + n_imm);
  prog.n_regs = n_regs;
  return prog;
}

// The broadcast plan of the inputs over the output shape (outputs first in the operand slots).
Plan<kMaxOperands> fused_plan(const std::vector<std::vector<size_t>>& in_shapes, const std::vector<size_t>& shape,
                              size_t n_out) {
  const char* name = "fused_elementwise";
  if (in_shapes.size() + n_out > (size_t)kMaxOperands)
    throw nb::value_error("fused_elementwise: too many operands for one fused group");
  std::vector<std::vector<size_t>> shapes(n_out, shape);
  shapes.insert(shapes.end(), in_shapes.begin(), in_shapes.end());
  Plan<kMaxOperands> p = make_plan<kMaxOperands>(name, shapes);
  if (p.shape != shape) throw nb::value_error("fused_elementwise: inputs broadcast beyond the output shape");
  if (p.dims.size() > 8) throw nb::value_error("fused_elementwise: too many non-mergeable axes (at most 8)");
  return p;
}

void run_fused(DType dt, const Program& prog, const Plan<kMaxOperands>& p, const Layout& lay,
               const std::vector<const void*>& in, const std::vector<bool>& in_bool, const std::vector<void*>& out,
               const std::vector<bool>& out_bool) {
  if (dt == DType::F32) run_program<float>(prog, p, lay, in, in_bool, out, out_bool);
  else run_program<double>(prog, p, lay, in, in_bool, out, out_bool);
}

// out_k = program(inputs) over `shape`, for every output k; `out_bool[k]` stores it as bool.
// `targets[j]` (C-contiguous, of `shape`) receives output `target_slots[j]` in place instead of
// a new array — a variable updated where it lives. Legal because each block loads all of its
// inputs before it stores, and blocks are disjoint.
nb::list fused_elementwise(Array code, Array imm, std::vector<Array> inputs, std::vector<size_t> shape,
                           std::vector<bool> out_bool, int dtype_code, int n_regs, std::vector<MutArray> targets,
                           std::vector<int> target_slots) {
  const char* name = "fused_elementwise";
  if (code.ndim() != 2 || code.shape(1) != 5 || dtype_of(code.dtype(), name) != DType::I32)
    throw nb::value_error("fused_elementwise: the program must be an int32 array of shape (n, 5)");
  if (dtype_of(imm.dtype(), name) != DType::F64) throw nb::value_error("fused_elementwise: immediates must be float64");
  const DType dt = static_cast<DType>(dtype_code);
  if (dt != DType::F32 && dt != DType::F64) throw nb::value_error("fused_elementwise: compute dtype must be a float");
  Program prog = make_program(static_cast<const int32_t*>(code.data()), code.shape(0),
                              static_cast<const double*>(imm.data()), imm.size(), n_regs, inputs.size(), out_bool.size());
  std::vector<std::vector<size_t>> in_shapes;
  std::vector<const void*> in;
  std::vector<bool> in_bool;
  for (auto& a : inputs) {
    DType d = dtype_of(a.dtype(), name);
    if (d != dt && d != DType::Bool) throw nb::type_error("fused_elementwise: inputs must have the compute dtype or bool");
    in_shapes.push_back(shape_of(a));
    in.push_back(a.data());
    in_bool.push_back(d == DType::Bool);
  }
  Plan<kMaxOperands> p = fused_plan(in_shapes, shape, out_bool.size());
  if (targets.size() != target_slots.size()) throw nb::value_error("fused_elementwise: one slot per target");
  nb::list results;
  std::vector<void*> out;
  for (size_t k = 0; k < out_bool.size(); ++k) {
    const int typenum = out_bool[k] ? NPY_BOOL : (dt == DType::F32 ? NPY_FLOAT32 : NPY_FLOAT64);
    int j = -1;
    for (size_t t = 0; t < target_slots.size(); ++t)
      if (target_slots[t] == (int)k) j = (int)t;
    if (j < 0) {
      void* data;
      results.append(new_array_of(shape, typenum, &data));
      out.push_back(data);
      continue;
    }
    const MutArray& t = targets[j];
    if (t.dtype().num != typenum || shape_of(t) != shape || !PyArray_IS_C_CONTIGUOUS(t.a))
      throw nb::value_error("fused_elementwise: an in-place target must be C-contiguous with the output's shape and dtype");
    results.append(nb::borrow(reinterpret_cast<PyObject*>(t.a)));
    out.push_back(t.data());
  }
  {
    NoGil nogil(p.size);
    run_fused(dt, prog, p, classify(prog, p, in_bool, out.size()), in, in_bool, out, out_bool);
  }
  return results;
}

// Native step. ints: [dtype code, n_regs, rows, 5 * rows program ints]; floats: immediates.
// Outputs share one shape; a bool output slot stores a comparison's result. An output slot may
// be an input's buffer (in place) when that input has the output's full shape.
StepFn fused_step(const StepSpec& s) {
  if (s.ints.size() < 3) throw nb::value_error("fused_elementwise: expected ints [dtype, n_regs, rows, program]");
  const int64_t dtc = s.ints[0], n_regs = s.ints[1], rows = s.ints[2];
  if (dtc != 0 && dtc != 1) throw nb::value_error("fused_elementwise: compute dtype must be a float");
  if (n_regs < 0 || rows < 0 || (int64_t)s.ints.size() != 3 + 5 * rows)
    throw nb::value_error("fused_elementwise: the program length does not match its row count");
  if (s.out.empty()) throw nb::value_error("fused_elementwise: expected at least one output");
  const DType dt = static_cast<DType>(dtc);
  std::vector<int32_t> code(s.ints.begin() + 3, s.ints.end());
  auto prog = std::make_shared<Program>(make_program(code.data(), (size_t)rows, s.floats.data(), s.floats.size(),
                                                     (int)n_regs, s.in.size(), s.out.size()));
  std::vector<std::vector<size_t>> in_shapes;
  std::vector<bool> in_bool, out_bool;
  for (const Slot* a : s.in) {
    if (a->dtype != dt && a->dtype != DType::Bool)
      throw nb::type_error("fused_elementwise: inputs must have the compute dtype or bool");
    in_shapes.push_back(a->ushape());
    in_bool.push_back(a->dtype == DType::Bool);
  }
  const std::vector<size_t> shape = s.out[0]->ushape();
  for (const Slot* o : s.out) {
    if (o->ushape() != shape) throw nb::value_error("fused_elementwise: every output must have one shape");
    if (o->dtype != dt && o->dtype != DType::Bool)
      throw nb::type_error("fused_elementwise: outputs must have the compute dtype or bool");
    out_bool.push_back(o->dtype == DType::Bool);
  }
  auto p = std::make_shared<Plan<kMaxOperands>>(fused_plan(in_shapes, shape, s.out.size()));
  auto lay = std::make_shared<Layout>(classify(*prog, *p, in_bool, s.out.size()));
  // the buffer lists are refilled at each run (a plan runs once at a time), never reallocated
  auto in = std::make_shared<std::vector<const void*>>(s.in.size());
  auto out = std::make_shared<std::vector<void*>>(s.out.size());
  std::vector<Slot*> ins = s.in, outs = s.out;
  return [=]() {
    for (size_t k = 0; k < ins.size(); ++k) (*in)[k] = ins[k]->data;
    for (size_t k = 0; k < outs.size(); ++k) (*out)[k] = outs[k]->data;
    run_fused(dt, *prog, *p, *lay, *in, in_bool, *out, out_bool);
  };
}

}  // namespace

void bind_fused(nb::module_& m) {
  def_kernel(m, "fused_elementwise", &fused_elementwise, nb::arg("code"), nb::arg("immediates"), nb::arg("inputs"),
             nb::arg("shape"), nb::arg("out_bool"), nb::arg("dtype_code"), nb::arg("n_regs"),
             nb::arg("targets") = std::vector<MutArray>(), nb::arg("target_slots") = std::vector<int>());
  register_step("fused_elementwise", &fused_step);
  m.attr("FUSED_UNARY_BASE") = (int)kUnary;
  m.attr("FUSED_BINARY_BASE") = (int)kBinary;
}

}  // namespace layerkit::core
