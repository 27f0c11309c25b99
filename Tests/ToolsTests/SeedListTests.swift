import ArgumentParser
import Testing
@testable import ToolSupport

@Suite struct SeedListTests {
    @Test func edmSyntax() throws {
        #expect(try SeedList(parsing: "1,2,5-10").seeds == [1, 2, 5, 6, 7, 8, 9, 10])
        #expect(try SeedList(parsing: "0-3").seeds == [0, 1, 2, 3])
        #expect(try SeedList(parsing: "7").seeds == [7])
        #expect(try SeedList(parsing: " 3 , 4-5 ").seeds == [3, 4, 5])
        #expect(try SeedList(parsing: "9-9").seeds == [9])
        #expect(SeedList(argument: "0-63")?.count == 64)
    }

    @Test func badSyntaxIsAUsageErrorNamingThePart() {
        for bad in ["", "a", "5-3", "1,1", "0-3,2", "-1", "1-", "1,,2", "1-2-3", "1.5"] {
            #expect(throws: ValidationError.self, "\(bad)") { try SeedList(parsing: bad) }
            #expect(SeedList(argument: bad) == nil)
        }
        let e = #expect(throws: ValidationError.self) { try SeedList(parsing: "1,x") }
        #expect(e?.message.contains("'x'") == true)
        #expect(throws: ValidationError.self) { try SeedList(parsing: "0-100000000") }
    }

    @Test func compactDescription() throws {
        #expect(try SeedList(parsing: "0-63").description == "0-63")
        #expect(try SeedList(parsing: "5,1,2,3,9").description == "5,1-3,9")
        #expect(SeedList([]).description == "")
    }

    @Test func shardsPartitionInOrder() throws {
        let all = try SeedList(parsing: "0-9")
        let shards = (0..<3).map { all.shard($0, of: 3) }
        #expect(shards.map { $0.count } == [3, 3, 4])
        #expect(shards.flatMap { $0.seeds } == all.seeds)
    }
}
