import CConv
import Foundation
import Synchronization

/// Whether the conv data movement runs in the AVX-512 kernels of `CConv` (Winograd's input, output and
/// output-gradient transforms; im2col and its adjoint at stride 1 and 2; GroupNorm+SiLU's apply row) or in the
/// Swift code they replace. Both give the same bits (WinogradTransformsTests, Im2colTests, NormSiluKernelTests);
/// on by default when the CPU has AVX-512F
/// and BMI2. The switch exists for those tests and for comparisons (`FS_CONV_AVX512=off`).
public enum VectorConvKernels {
    private static let on = Atomic<Bool>(cconv_available() != 0)

    /// Whether this CPU and OS can run them (cpuid), whatever `enabled` says.
    public static var available: Bool { cconv_available() != 0 }

    /// True when the AVX-512 kernels run. Setting it true on a CPU without them has no effect.
    public static var enabled: Bool {
        get { on.load(ordering: .relaxed) }
        set { on.store(newValue && cconv_available() != 0, ordering: .relaxed) }
    }

    /// Reads `FS_CONV_AVX512` and `FS_CONV_AVX2` (`off`/`0`/`no` or `on`/`1`/`yes`); other values leave the choice as it is.
    public static func applyEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) {
        switch env["FS_CONV_AVX512"]?.lowercased() {
        case "off", "0", "no": enabled = false
        case "on", "1", "yes": enabled = true
        default: break
        }
        switch env["FS_CONV_AVX2"]?.lowercased() {
        case "off", "0", "no": winogradAVX2 = false
        case "on", "1", "yes": winogradAVX2 = true
        default: break
        }
        switch env["FS_CONV_AVX2_GEMM"]?.lowercased() {
        case "off", "0", "no": winogradGemmAVX2 = false
        case "on", "1", "yes": winogradGemmAVX2 = true
        default: break
        }
    }

    private static let avx2Gemm = Atomic<Bool>(cwino2_gemm_available() != 0 && cconv_available() == 0)

    /// Whether Winograd's forward and input-gradient products (one image, one transform position:
    /// [cout, cin] x [cin, tiles]) run in CConv's AVX2 kernel (`cwino2_gemm`) instead of OpenBLAS's sgemm, in
    /// fp32. A property of the host, not of `enabled`: on by default where the CPU has AVX2 and FMA but not the
    /// AVX-512 kernels (there OpenBLAS's small-matrix kernels stay, and with them the AVX-512 hosts' bits), so
    /// switching the transforms never changes which GEMM runs. `FS_CONV_AVX2_GEMM=off` turns it off.
    public static var winogradGemmAVX2: Bool {
        get { avx2Gemm.load(ordering: .relaxed) }
        set { avx2Gemm.store(newValue && cwino2_gemm_available() != 0, ordering: .relaxed) }
    }

    private static let avx2 = Atomic<Bool>(cwino2_available() != 0)

    /// Whether Winograd's data transforms run in CConv's AVX2 kernels when the AVX-512 ones are off (a CPU
    /// without AVX-512, or `enabled` false): the same bits as the Swift transforms (WinogradTransformsTests).
    /// On by default where the CPU has AVX2; `FS_CONV_AVX2=off` turns it off for comparisons.
    public static var winogradAVX2: Bool {
        get { avx2.load(ordering: .relaxed) }
        set { avx2.store(newValue && cwino2_available() != 0, ordering: .relaxed) }
    }

    /// Whether this CPU and OS can run the AVX2 transforms.
    public static var winogradAVX2Available: Bool { cwino2_available() != 0 }

    /// The Winograd transform kernels that run now: AVX-512, else AVX2, else nil (the Swift transforms).
    static var winogradKernels: WinogradKernels? {
        if enabled { return WinogradKernels(input: cwino_input, output: cwino_output, grad: cwino_grad) }
        if winogradAVX2 { return WinogradKernels(input: cwino2_input, output: cwino2_output, grad: cwino2_grad) }
        return nil
    }
}

/// One set of CConv's Winograd transforms (cconv.h: same contracts, same bits).
struct WinogradKernels {
    let input: @convention(c) (UnsafePointer<Float>?, Int32, Int32, Int32, Int32, UnsafeMutablePointer<Float>?, Int, Int, Int) -> Void
    let output: @convention(c) (UnsafePointer<Float>?, Int32, Int32, Int32, Int32, Int, UnsafePointer<Float>?,
                                UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafeMutablePointer<Float>?) -> Void
    let grad: @convention(c) (UnsafePointer<Float>?, Int32, Int32, Int32, Int32, UnsafeMutablePointer<Float>?, Int, Int, Int) -> Void
}
