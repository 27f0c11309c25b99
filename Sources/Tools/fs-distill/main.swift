// fs-distill: under construction in this session; replaced by the real tool.
import Foundation
FileHandle.standardError.write("fs-distill: not built yet\n".data(using: .utf8)!)
exit(1)
