import Testing
import TensorCore

@Suite struct SHA256Tests {
    /// FIPS 180-2 appendix B vectors through both block functions (hardware when the CPU has it).
    @Test(arguments: [false, true]) func fipsVectorsBothEngines(portable: Bool) {
        func hex(_ s: String) -> String {
            var h = SHA256Hasher(portable: portable)
            h.update(s)
            return h.finalizeHex()
        }
        #expect(hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var h = SHA256Hasher(portable: portable)
        let a = [UInt8](repeating: 0x61, count: 1_000_000)
        h.update(a)
        #expect(h.finalizeHex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// The hardware path (SHA-NI, when present) equals the pure Swift one on random lengths fed
    /// in random chunkings (both one update per byte run and whole-block runs).
    @Test func hardwareMatchesPortableOnRandomInput() {
        var rng = SplitMix64(seed: 2024)
        let data = (0..<20_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for trial in 0..<200 {
            let length = trial < 130 ? trial : Int(rng.next() % UInt64(data.count + 1))
            var portable = SHA256Hasher(portable: true)
            var fast = SHA256Hasher()
            data.withUnsafeBytes { all in
                let msg = UnsafeRawBufferPointer(rebasing: all[0..<length])
                portable.update(msg)
                var i = 0
                while i < length {
                    let n = min(length - i, Int(rng.next() % 300))
                    fast.update(UnsafeRawBufferPointer(rebasing: msg[i..<(i + n)]))
                    i += n
                }
            }
            #expect(fast.finalizeHex() == portable.finalizeHex(), "length \(length)")
        }
    }

    @Test func nistVectors() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")
                == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        var h = SHA256Hasher()
        let a = [UInt8](repeating: 0x61, count: 1000)
        for _ in 0..<1000 { h.update(a) }
        #expect(h.finalizeHex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func chunkingDoesNotMatter() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        let whole = SHA256.hex(data)
        for step in [1, 3, 63, 64, 65, 200] {
            var h = SHA256Hasher()
            var i = 0
            while i < data.count { h.update(Array(data[i..<min(data.count, i + step)])); i += step }
            #expect(h.finalizeHex() == whole, "chunk size \(step)")
        }
        // Lengths around the padding boundary.
        #expect(SHA256.hex([UInt8](repeating: 0, count: 55)) == "02779466cdec163811d078815c633f21901413081449002f24aa3e80f0b88ef7")
        #expect(SHA256.hex([UInt8](repeating: 0, count: 56)) == "d4817aa5497628e7c77e6b606107042bbba3130888c5f47a375e6179be789fbb")
    }
}
