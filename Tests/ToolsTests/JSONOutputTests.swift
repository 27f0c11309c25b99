import Testing
@testable import ToolSupport

@Suite struct JSONOutputTests {
    @Test func sortedKeysShortestFloatsAndNulls() throws {
        let missing: Int? = nil
        let text = try JSONOutput.string([
            "timesteps": [Float(1000), 900, 750, 500],
            "sigmas": [Float(1), 0.9, 0.75, 0.5, 0],
            "fid": Double.nan,
            "run": "teacher",
            "step": missing as Any,
            "seeds": [UInt64(0), 1],
            "ok": true,
            "nested": ["b": 1, "a": Float(0.1)] as [String: Any],
            "path": "out/grid.png",
        ])
        #expect(text == #"{"fid":null,"nested":{"a":0.1,"b":1},"ok":true,"path":"out/grid.png","run":"teacher","#
                + #""seeds":[0,1],"sigmas":[1,0.9,0.75,0.5,0],"step":null,"timesteps":[1000,900,750,500]}"#)
    }
}
