// fs-train: under construction in this session; replaced by the real tool.
import Foundation
FileHandle.standardError.write("fs-train: not built yet\n".data(using: .utf8)!)
exit(1)
