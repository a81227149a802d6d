// The photo helpers (ImageSource+Photos.swift) on an iOS simulator, with the HEIC photos
// build-xcframework.sh copies from tests/images/formats into Resources, and images encoded here.
import CoreGraphics
import ImageIO
import UIKit
import UniformTypeIdentifiers
import XCTest

@testable import LightCap

final class PhotoTests: XCTestCase {
    private func engine() async throws -> Engine {
        try await Engine.load(packNamed: "lightcap-default", in: .module)
    }

    private func resource(_ name: String) throws -> URL {
        try XCTUnwrap(
            Bundle.module.url(forResource: name, withExtension: nil),
            "\(name) is not in the test bundle: run ios/scripts/build-xcframework.sh")
    }

    private func temporaryFile(_ name: String, _ contents: Data) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString)-\(name)")
        try contents.write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Width and height of a decoded photo.
    private func size(_ image: ImageSource) -> [Int] {
        guard case .frame(_, let width, let height, _, _) = image else { return [] }
        return [Int(width), Int(height)]
    }

    /// The RGB of the pixel at `x`, `y` (from the top left) of a decoded photo.
    private func rgb(_ image: ImageSource, x: Int, y: Int) -> [UInt8] {
        guard case .frame(let pixels, _, _, let rowStride, let format) = image, format == .rgba8 else { return [] }
        let at = y * Int(rowStride) + x * 4
        return [pixels[at], pixels[at + 1], pixels[at + 2]]
    }

    /// `width` x `height`, the left half red and the right half blue.
    private func twoColourImage(width: Int, height: Int) throws -> CGImage {
        let context = try XCTUnwrap(
            CGContext(
                data: nil, width: width, height: height, bitsPerComponent: 8, bytesPerRow: 0,
                space: CGColorSpaceCreateDeviceRGB(), bitmapInfo: CGImageAlphaInfo.noneSkipLast.rawValue))
        context.setFillColor(CGColor(red: 0.86, green: 0.16, blue: 0.16, alpha: 1))
        context.fill(CGRect(x: 0, y: 0, width: width / 2, height: height))
        context.setFillColor(CGColor(red: 0.16, green: 0.16, blue: 0.86, alpha: 1))
        context.fill(CGRect(x: width / 2, y: 0, width: width - width / 2, height: height))
        return try XCTUnwrap(context.makeImage())
    }

    /// `image` encoded by ImageIO as `type`, with an EXIF orientation.
    private func encode(_ image: CGImage, as type: UTType, orientation: CGImagePropertyOrientation = .up) throws -> Data {
        let data = NSMutableData()
        let destination = try XCTUnwrap(
            CGImageDestinationCreateWithData(data as CFMutableData, type.identifier as CFString, 1, nil))
        CGImageDestinationAddImage(
            destination, image, [kCGImagePropertyOrientation: orientation.rawValue] as CFDictionary)
        XCTAssertTrue(CGImageDestinationFinalize(destination))
        return data as Data
    }

    /// A PNG whose header declares `width` x `height` pixels but which holds next to no
    /// image data: only a size check before decoding refuses it cheaply.
    private func pngDeclaring(width: UInt32, height: UInt32) -> Data {
        func bigEndian(_ value: UInt32) -> Data { withUnsafeBytes(of: value.bigEndian) { Data($0) } }
        func crc32(_ bytes: Data) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0..<8 {
                    crc = (crc & 1) == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1
                }
            }
            return ~crc
        }
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        func chunk(_ type: String, _ body: Data) {
            let typed = Data(type.utf8) + body
            png.append(bigEndian(UInt32(body.count)))
            png.append(typed)
            png.append(bigEndian(crc32(typed)))
        }
        // 8-bit RGB, deflate, adaptive filtering, not interlaced.
        chunk("IHDR", bigEndian(width) + bigEndian(height) + Data([8, 2, 0, 0, 0]))
        chunk("IDAT", Data([0x78, 0x9C, 0x63, 0x60, 0x00, 0x00]))  // the start of a deflate stream
        chunk("IEND", Data())
        return png
    }

    func testAHeicPhotoCaptions() async throws {
        let engine = try await engine()
        let url = try resource("photo.heic")
        let photo = try ImageSource.photo(at: url)
        // 96 x 64 is under the 448-pixel short side: decoded whole, never enlarged.
        XCTAssertEqual(size(photo), [96, 64])
        XCTAssertEqual(try ImageSource.photo(data: Data(contentsOf: url)), photo)
        let caption = try await engine.caption(photo)
        XCTAssertFalse(caption.text.isEmpty)
        // Why the helper exists: the core itself does not decode HEIC.
        do {
            _ = try await engine.caption(.encoded(bytes: Data(contentsOf: url)))
            XCTFail("the core must refuse HEIC bytes")
        } catch LightCapError.UnsupportedImageFormat(let message) {
            XCTAssertTrue(message.contains("HEIC"), message)
        }
    }

    func testATruncatedHeicIsADecodeError() throws {
        let url = try resource("photo-truncated.heic")
        XCTAssertThrowsError(try ImageSource.photo(at: url)) { error in
            guard case LightCapError.ImageDecode(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("photo-truncated.heic"), message)
        }
        XCTAssertThrowsError(try ImageSource.photo(data: Data(contentsOf: url))) { error in
            guard case LightCapError.ImageDecode = error else { return XCTFail("\(error)") }
        }
    }

    func testAnEmptyFileOrDataIsAnEmptyImage() throws {
        let url = try temporaryFile("empty.heic", Data())
        XCTAssertThrowsError(try ImageSource.photo(at: url)) { error in
            guard case LightCapError.EmptyImage(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("0 bytes"), message)
        }
        XCTAssertThrowsError(try ImageSource.photo(data: Data())) { error in
            guard case LightCapError.EmptyImage = error else { return XCTFail("\(error)") }
        }
    }

    func testAMissingFileIsAnIoError() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-photo.heic")
        XCTAssertThrowsError(try ImageSource.photo(at: url)) { error in
            guard case LightCapError.Io(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("no-such-photo.heic"), message)
        }
    }

    func testBytesThatAreNoImageAreUnsupported() throws {
        let text = Data("this is a shopping list, not a photo".utf8)
        XCTAssertThrowsError(try ImageSource.photo(data: text)) { error in
            guard case LightCapError.UnsupportedImageFormat = error else { return XCTFail("\(error)") }
        }
        let url = try temporaryFile("list.dat", text)
        XCTAssertThrowsError(try ImageSource.photo(at: url)) { error in
            guard case LightCapError.UnsupportedImageFormat = error else { return XCTFail("\(error)") }
        }
    }

    func testTooManyPixelsAreRefusedFromTheHeader() throws {
        let bomb = pngDeclaring(width: 20_000, height: 20_000)
        XCTAssertThrowsError(try ImageSource.photo(data: bomb)) { error in
            guard case LightCapError.ImageTooLarge(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("20000x20000"), message)
        }
        let url = try temporaryFile("bomb.png", bomb)
        XCTAssertThrowsError(try ImageSource.photo(at: url)) { error in
            guard case LightCapError.ImageTooLarge = error else { return XCTFail("\(error)") }
        }
        // The limit is the caller's: the 96 x 64 HEIC under a lower one.
        XCTAssertThrowsError(try ImageSource.photo(at: resource("photo.heic"), maxPixels: 96 * 64 - 1)) { error in
            guard case LightCapError.ImageTooLarge = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try ImageSource.photo(data: bomb, minSide: 0)) { error in
            guard case LightCapError.InvalidOption = error else { return XCTFail("\(error)") }
        }
    }

    func testExifOrientationIsApplied() throws {
        // Stored 64 x 48, left half red; EXIF orientation 6 (.right) shows it turned a
        // quarter clockwise: 48 x 64, the red half on top.
        let jpeg = try encode(twoColourImage(width: 64, height: 48), as: .jpeg, orientation: .right)
        let photo = try ImageSource.photo(data: jpeg)
        XCTAssertEqual(size(photo), [48, 64])
        let top = rgb(photo, x: 24, y: 8), bottom = rgb(photo, x: 24, y: 56)
        XCTAssertGreaterThan(top[0], top[2], "top \(top) should be red")
        XCTAssertGreaterThan(bottom[2], bottom[0], "bottom \(bottom) should be blue")
    }

    func testLargePhotosAreDecodedReduced() throws {
        let png = try encode(twoColourImage(width: 1200, height: 900), as: .png)
        let photo = try ImageSource.photo(data: png)
        let decoded = size(photo)
        XCTAssertEqual(decoded.count, 2)
        // The short side at least 448, the long one no more than 1200 x 448 / 900 rounded up.
        XCTAssertGreaterThanOrEqual(decoded.min() ?? 0, ImageSource.photoMinSide)
        XCTAssertLessThanOrEqual(decoded.max() ?? .max, 598)
        XCTAssertGreaterThan(decoded[0], decoded[1])
    }

    func testReducedSizes() {
        XCTAssertTrue(ImageSource.reducedSize(width: 224, height: 224, minSide: 448) == (224, 224))
        XCTAssertTrue(ImageSource.reducedSize(width: 4032, height: 3024, minSide: 448) == (598, 448))
        XCTAssertTrue(ImageSource.reducedSize(width: 3024, height: 4032, minSide: 448) == (448, 598))
        XCTAssertTrue(ImageSource.reducedSize(width: 2000, height: 1, minSide: 448) == (2000, 1))
    }

    func testCGImagesAndUIImagesCanBeReduced() throws {
        let image = try twoColourImage(width: 64, height: 48)
        XCTAssertEqual(size(try ImageSource.frame(from: image)), [64, 48])
        XCTAssertEqual(size(try ImageSource.frame(from: image, minSide: 32)), [43, 32])
        XCTAssertEqual(size(try ImageSource.frame(from: image, minSide: 100)), [64, 48])
        // A UIImage's orientation is drawn: .right shows the stored image turned clockwise.
        let turned = UIImage(cgImage: image, scale: 1, orientation: .right)
        let photo = try ImageSource.photo(turned)
        XCTAssertEqual(size(photo), [48, 64])
        let top = rgb(photo, x: 24, y: 8), bottom = rgb(photo, x: 24, y: 56)
        XCTAssertGreaterThan(top[0], top[2], "top \(top) should be red")
        XCTAssertGreaterThan(bottom[2], bottom[0], "bottom \(bottom) should be blue")
        XCTAssertEqual(size(try ImageSource.photo(turned, minSide: 32)), [32, 43])
        XCTAssertThrowsError(try ImageSource.photo(UIImage())) { error in
            guard case LightCapError.EmptyImage = error else { return XCTFail("\(error)") }
        }
    }
}
