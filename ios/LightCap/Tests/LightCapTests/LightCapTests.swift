// The Swift layer on an iOS simulator (`xcodebuild test`; the XCFramework has no macOS
// slice), against the test pack that ios/scripts/build-xcframework.sh copies into Resources.
import CoreGraphics
import XCTest

@testable import LightCap

final class LightCapTests: XCTestCase {
    private func engine() async throws -> Engine {
        try await Engine.load(packNamed: "lightcap-default", in: .module)
    }

    /// A 64x48 RGBA image: left half red, right half blue.
    private func twoColourFrame() -> ImageSource {
        let width = 64, height = 48
        var pixels = Data(count: width * height * 4)
        for y in 0..<height {
            for x in 0..<width {
                let at = (y * width + x) * 4
                pixels[at] = x < width / 2 ? 220 : 40
                pixels[at + 1] = 40
                pixels[at + 2] = x < width / 2 ? 40 : 220
                pixels[at + 3] = 255
            }
        }
        return .frame(pixels: pixels, width: Int32(width), height: Int32(height), rowStride: Int32(width * 4), format: .rgba8)
    }

    func testCaptionsAFrameWithConceptsAndTimings() async throws {
        let engine = try await engine()
        let caption = try await engine.caption(twoColourFrame())
        XCTAssertFalse(caption.text.isEmpty)
        XCTAssertEqual(caption.concepts.count, Int(engine.modelInfo().conceptsPerCaption))
        XCTAssertGreaterThan(caption.timings.totalMs, 0)
        XCTAssertTrue(caption.sentence.hasSuffix(".") || caption.sentence.hasSuffix("?"))
        // The async path and the blocking path agree.
        let blocking = try engine.caption(image: twoColourFrame(), options: CaptionOptions())
        XCTAssertEqual(blocking.text, caption.text)
    }

    func testBadInputsThrowTypedErrors() async throws {
        let engine = try await engine()
        do {
            _ = try await engine.caption(.encoded(bytes: Data()))
            XCTFail("an empty image must throw")
        } catch LightCapError.EmptyImage {
        }
        do {
            _ = try await engine.caption(twoColourFrame(), options: CaptionOptions(beamSize: 0))
            XCTFail("beam size 0 must throw")
        } catch LightCapError.InvalidOption(let message) {
            XCTAssertTrue(message.contains("beam_size"))
        }
        do {
            _ = try await Engine.load(contentsOf: URL(fileURLWithPath: "/no/such/pack"))
            XCTFail("a missing pack must throw")
        } catch LightCapError.Io {
        }
    }

    func testTaskCancellationCancelsTheCaption() async throws {
        let engine = try await engine()
        let task = Task { try await engine.caption(twoColourFrame(), options: CaptionOptions(minLength: 15)) }
        task.cancel()
        do {
            _ = try await task.value
            // A caption that finished before the cancel arrived is also correct.
        } catch LightCapError.Cancelled {
        }
        // The engine is still usable.
        _ = try await engine.caption(twoColourFrame())
    }

    func testUpdatesStreamEndsWithTheCaption() async throws {
        let engine = try await engine()
        var updates: [CaptionUpdate] = []
        for try await update in engine.captionUpdates(twoColourFrame()) {
            updates.append(update)
        }
        guard case .done(let caption) = updates.last else {
            return XCTFail("the stream must end with .done")
        }
        let direct = try await engine.caption(twoColourFrame())
        XCTAssertEqual(caption.text, direct.text)
    }

    func testCGImagesCaptionLikeTheirPixels() async throws {
        let engine = try await engine()
        let frame = twoColourFrame()
        guard case .frame(let pixels, let width, let height, let rowStride, _) = frame else { return XCTFail() }
        let provider = CGDataProvider(data: pixels as CFData)!
        let image = CGImage(
            width: Int(width), height: Int(height), bitsPerComponent: 8, bitsPerPixel: 32, bytesPerRow: Int(rowStride),
            space: CGColorSpaceCreateDeviceRGB(), bitmapInfo: CGBitmapInfo(rawValue: CGImageAlphaInfo.last.rawValue),
            provider: provider, decode: nil, shouldInterpolate: false, intent: .defaultIntent)!
        let fromImage = try await engine.caption(try ImageSource.frame(from: image))
        let fromPixels = try await engine.caption(frame)
        XCTAssertEqual(fromImage.text, fromPixels.text)
    }
}
