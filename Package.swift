// swift-tools-version:6.0
import PackageDescription

// Hot numeric code is compiled with the flags that matter on this machine kind (docs/platform notes):
// -Ounchecked drops bounds checks in release, and -target-cpu haswell turns SIMD addingProduct into
// real FMA instructions (without it each lane calls libm fmaf, ~100x slower). The CPU flag is only
// passed on x86-64 so the package still builds elsewhere.
#if arch(x86_64)
let cpuFlags: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
#else
let cpuFlags: [SwiftSetting] = []
#endif
let fast: [SwiftSetting] = cpuFlags + [
    .unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")

func tool(_ name: String, _ deps: [Target.Dependency]) -> Target {
    .executableTarget(name: name, dependencies: deps + ["ToolSupport", argumentParser],
                      path: "Sources/Tools/\(name)", swiftSettings: fast)
}

let package = Package(
    name: "FlowSteer",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "fs-train", targets: ["fs-train"]),
        .executable(name: "fs-sample", targets: ["fs-sample"]),
        .executable(name: "fs-rollout", targets: ["fs-rollout"]),
        .executable(name: "fs-distill", targets: ["fs-distill"]),
        .executable(name: "fs-eval", targets: ["fs-eval"]),
        .executable(name: "fs-store", targets: ["fs-store"]),
        .executable(name: "fs-bench", targets: ["fs-bench"]),
        .executable(name: "fs-data", targets: ["fs-data"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C libraries (Debian -dev packages, found through pkg-config).
        .systemLibrary(name: "COpenBLAS", path: "Sources/Shims/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/Shims/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CArchive", path: "Sources/Shims/CArchive", pkgConfig: "libarchive",
                       providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/Shims/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CMPI", path: "Sources/Shims/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev"])]),
        // The cpuid probe behind every run-time kernel choice below.
        .target(name: "CCPU", path: "Sources/Shims/CCPU"),
        // SHA-256 block function on the x86 SHA extensions; chosen at run time (cpuid) by TensorCore.
        .target(name: "CSHA256", dependencies: ["CCPU"], path: "Sources/Shims/CSHA256"),
        // bfloat16 GEMM on AVX512_BF16 (vdpbf16ps) for `--precision bf16`; chosen at run time (cpuid).
        .target(name: "CBF16", dependencies: ["CCPU"], path: "Sources/Shims/CBF16", cSettings: [.unsafeFlags(["-O3"])]),
        // Conv data movement in AVX-512 (Winograd transforms, im2col), bit-identical to the Swift code it
        // replaces (no fused multiply-adds); chosen at run time (cpuid).
        .target(name: "CConv", dependencies: ["CCPU"], path: "Sources/Shims/CConv", cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off"])]),
        // fp32 GEMM on AVX-512F for the row-wise linear layers and attention (no packing copy of the
        // activations); chosen at run time (cpuid), FS_GEMM=openblas forces OpenBLAS.
        .target(name: "CGEMM", dependencies: ["CCPU"], path: "Sources/Shims/CGEMM", cSettings: [.unsafeFlags(["-O3"])]),

        // Layering (downward only): TensorCore -> NN -> {Train, Eval}; Store -> NN; Tools -> all.
        .target(name: "TensorCore", dependencies: ["COpenBLAS", "CSHA256", "CBF16", "CConv", "CGEMM", "CCPU"], swiftSettings: fast),
        .target(name: "NN", dependencies: ["TensorCore"], swiftSettings: fast),
        .target(name: "Datasets", dependencies: ["TensorCore", "CArchive", "ImageIO"],
                resources: [.copy("Resources")], swiftSettings: fast),
        .target(name: "ImageIO", dependencies: ["TensorCore", "CPNG"], swiftSettings: fast),
        .target(name: "Store", dependencies: ["NN", "CSQLite", "CArchive"], swiftSettings: fast),
        // MPI ranks with a rank-count independent allreduce (the trainers' data-parallel gradient sum).
        .target(name: "Distributed", dependencies: ["TensorCore", "CMPI"], swiftSettings: fast),
        // Run under mpirun by jobs/tests/mpi.sh: prints the ordered chunk sum's SHA-256 per rank count.
        .executableTarget(name: "mpi-check", dependencies: ["Distributed"], path: "Sources/Checks/mpi-check",
                          swiftSettings: fast),
        .target(name: "Train", dependencies: ["NN", "Datasets", "Distributed"], swiftSettings: fast),
        .target(name: "Eval", dependencies: ["NN", "Datasets", "COpenBLAS"],
                resources: [.copy("Resources")], swiftSettings: fast),
        .target(name: "ToolSupport", dependencies: ["Store", "NN", "Train", "Eval", "Datasets", "ImageIO", "Distributed", argumentParser],
                path: "Sources/Tools/ToolSupport", swiftSettings: fast),
        tool("fs-train", ["Train", "Store"]),
        tool("fs-sample", ["Train", "Store", "ImageIO"]),
        tool("fs-rollout", ["Train", "Store"]),
        tool("fs-distill", ["Train", "Store"]),
        tool("fs-eval", ["Eval", "Train", "Store", "Datasets"]),
        tool("fs-store", ["Store", "ImageIO"]),
        tool("fs-data", ["Datasets"]),
        tool("fs-bench", ["Train", "Store"]),

        .target(name: "TestSupport", dependencies: ["TensorCore", "NN"]),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport"]),
        .testTarget(name: "NNTests", dependencies: ["NN", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "NN", "TestSupport"]),
        .testTarget(name: "TrainTests", dependencies: ["Train", "Distributed", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EvalTests", dependencies: ["Eval", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ToolsTests", dependencies: ["ToolSupport", "TestSupport"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed", "TestSupport"]),
    ]
)
