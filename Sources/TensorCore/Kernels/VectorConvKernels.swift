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

    /// Reads `FS_CONV_AVX512` (`off`/`0`/`no` or `on`/`1`/`yes`); other values leave the choice as it is.
    public static func applyEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) {
        switch env["FS_CONV_AVX512"]?.lowercased() {
        case "off", "0", "no": enabled = false
        case "on", "1", "yes": enabled = true
        default: break
        }
    }
}
