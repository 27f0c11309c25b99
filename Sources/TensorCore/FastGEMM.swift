import CGEMM
import Foundation
import Synchronization

/// The package's own fp32 GEMM (`CGEMM`, AVX-512F) for the token-row products of the transformer ops:
/// the row-wise linear layers (x Wᵀ, g W, gᵀ x) and attention's per-head products. OpenBLAS copies both
/// operands into panels on every call, and for the DiT's activations that copy was 11-12% of a training
/// step; `CGEMM` reads the activation rows in place and packs only the weight-like operand, once per call.
/// Every output element is one chain of multiply-adds over k in order, so a row's bits do not depend on
/// the blocks or threads it is computed in (the same rule as OpenBLAS gave for a fixed call shape).
/// On by default in fp32 when the CPU has AVX-512F, or AVX2 and FMA (the same chains, so the same bits on
/// either); `FS_GEMM=openblas` (or `off`) forces OpenBLAS
/// (comparisons, tests). The bf16 mode keeps its own kernel (`gemm`).
public enum FastGEMM {
    private static let on = Atomic<Bool>(cgemm_available() != 0 && !environmentSaysOff(ProcessInfo.processInfo.environment))

    /// Whether this CPU and OS can run the kernels (cpuid), whatever `enabled` says.
    public static var available: Bool { cgemm_available() != 0 }

    /// Whether they run as the AVX-512F kernels (else AVX2 + FMA, the same bits).
    public static var avx512: Bool { cgemm_avx512() != 0 }

    /// True when the kernels run. Setting it true on a CPU without them has no effect.
    public static var enabled: Bool {
        get { on.load(ordering: .relaxed) }
        set { on.store(newValue && available, ordering: .relaxed) }
    }

    /// Whether `FS_GEMM` in `env` asks for OpenBLAS (`openblas`, `off`, `0`, `no`).
    public static func environmentSaysOff(_ env: [String: String]) -> Bool {
        switch env["FS_GEMM"]?.lowercased() {
        case "openblas", "off", "0", "no": return true
        default: return false
        }
    }

    /// Whether a product with `n` output columns and depth `k` runs here: fp32 mode, the kernels on, and
    /// at least 16 of each (below that the 32-column tile is mostly padding; OpenBLAS keeps those). It
    /// never depends on the row count, which changes with the row split.
    @inline(__always)
    static func applies(n: Int, k: Int) -> Bool {
        n >= 16 && k >= 16 && ComputePrecision.active == .fp32 && enabled
    }
}

extension FastGEMM {
    /// C[m, n] = alpha op(A) op(B) on the kernels (op(A) = Aᵀ only with B untransposed), row strides
    /// defaulting to packed rows: what the layers call, for tests and benchmarks. Needs `available`.
    public static func multiply(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                                a: UnsafePointer<Float>, lda: Int? = nil, b: UnsafePointer<Float>, ldb: Int? = nil,
                                c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
        precondition(available && !(transA && transB), "FastGEMM.multiply: needs AVX-512F or AVX2+FMA, and not both transposed")
        var scratch = [Float](repeating: 0, count: tokenGemmScratch(n: n, k: k))
        scratch.withUnsafeMutableBufferPointer { sp in
            tokenGemm(scratch: sp.baseAddress!, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                      a: a, lda: lda ?? (transA ? m : k), b: b, ldb: ldb ?? (transB ? k : n), c: c, ldc: ldc ?? n)
        }
    }
}

/// op(B) [k, n] in `CGEMM`'s 32-column panels (64-byte aligned), packed once and shared by every row
/// block of a call: B is [k, n] with row stride `ldb`, or with `transposed` [n, k] (a weight [out, in]).
final class GEMMPanels: @unchecked Sendable {
    let n: Int, k: Int
    let pointer: UnsafeMutablePointer<Float>

    init(transposed: Bool, n: Int, k: Int, b: UnsafePointer<Float>, ldb: Int) {
        (self.n, self.k) = (n, k)
        let floats = Int(cgemm_packed_floats(Int32(n), Int32(k)))
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(1, floats) * 4, alignment: 64).bindMemory(to: Float.self, capacity: floats)
        cgemm_pack_b(transposed ? 1 : 0, Int32(n), Int32(k), b, Int32(ldb), pointer)
    }

    deinit { pointer.deallocate() }

    /// C[m, n] = alpha A[m, k] op(B) (+ bias[n]), A's rows read in place with stride `lda`.
    @inline(__always)
    func multiply(m: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, bias: UnsafePointer<Float>? = nil,
                  c: UnsafeMutablePointer<Float>, ldc: Int) {
        cgemm_packed(Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), pointer, bias, c, Int32(ldc))
    }
}

/// C[m, n] = Aᵀ B with A [k, m] and B [k, n] read in place (a weight gradient gᵀ x over k rows in order).
@inline(__always)
func gemmTransposedA(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     c: UnsafeMutablePointer<Float>, ldc: Int) {
    cgemm_tn(Int32(m), Int32(n), Int32(k), a, Int32(lda), b, Int32(ldb), c, Int32(ldc), 0)
}

/// Floats of scratch that `tokenGemm` needs to pack an op(B) of [k, n].
@inline(__always)
func tokenGemmScratch(n: Int, k: Int) -> Int { Int(cgemm_packed_floats(Int32(n), Int32(k))) }

/// `gemm`'s contract (no beta: C is overwritten) on `CGEMM` when `scratch` is given (callers pass one
/// of `tokenGemmScratch` floats only when `FastGEMM.applies`), else `gemm`. op(A) = A: Bᵀ is packed into
/// the scratch (B untransposed is read in place) and A's rows are read in place; op(A) = Aᵀ (B not
/// transposed): both in place, and alpha scales C's rows afterwards. Small per-(sample, head) products: packing B here costs ~1/m of
/// the multiplies.
@inline(__always)
func tokenGemm(scratch: UnsafeMutablePointer<Float>?, transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
               alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
               c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard let scratch, !(transA && transB) else {
        gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
        return
    }
    if transA {
        cgemm_tn(Int32(m), Int32(n), Int32(k), a, Int32(lda), b, Int32(ldb), c, Int32(ldc), 0)
        if alpha != 1 { for i in 0..<m { scaleRow(c + i * ldc, n, alpha) } }
    } else if !transB {
        // B's rows read in place: the packing copy was ~1% of a DiT step (P V and dS K), same bits.
        cgemm_nn(Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), c, Int32(ldc))
    } else {
        cgemm_pack_b(transB ? 1 : 0, Int32(n), Int32(k), b, Int32(ldb), scratch)
        cgemm_packed(Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), scratch, nil, c, Int32(ldc))
    }
}
